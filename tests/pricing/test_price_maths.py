"""Price maths: the totals Stripe bills, per unit, package, graduated and volume tiers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pricing.price_maths import (
    PriceTerms,
    Tier,
    amount_format,
    annual_savings_percent,
    graduated_total,
    package_count,
    package_total,
    per_unit_total,
    price_terms_describe,
    price_terms_from_stripe,
    price_total,
    volume_total,
)

# Stripe's documented example: units 1-5 at $10, then $8.
STRIPE_EXAMPLE_TIERS = (
    Tier(up_to=5, unit_amount=Decimal(1000)),
    Tier(up_to=None, unit_amount=Decimal(800)),
)


def test_per_unit_total_multiplies_the_unit_amount() -> None:
    assert per_unit_total(unit_amount=1250, quantity=3) == 3750
    assert per_unit_total(unit_amount=1250, quantity=0) == 0


def test_per_unit_total_rounds_decimal_amounts_half_up_once() -> None:
    # 0.5 cents x 3 = 1.5 cents -> 2 (rounded once on the total, not per unit)
    assert per_unit_total(unit_amount=Decimal("0.5"), quantity=3) == 2
    assert per_unit_total(unit_amount=Decimal("33.333"), quantity=3) == 100


def test_graduated_seven_seats_at_ten_then_eight_dollars_cost_66() -> None:
    assert graduated_total(tiers=STRIPE_EXAMPLE_TIERS, quantity=7) == 6600


@pytest.mark.parametrize(("quantity", "expected"), [(0, 0), (1, 1000), (5, 5000), (6, 5800)])
def test_graduated_charges_each_unit_in_its_own_tier(quantity: int, expected: int) -> None:
    assert graduated_total(tiers=STRIPE_EXAMPLE_TIERS, quantity=quantity) == expected


def test_graduated_adds_the_flat_amount_of_every_tier_reached() -> None:
    tiers = (
        Tier(up_to=2, unit_amount=Decimal(100), flat_amount=Decimal(500)),
        Tier(up_to=None, unit_amount=Decimal(50), flat_amount=Decimal(300)),
    )
    assert graduated_total(tiers=tiers, quantity=2) == 700
    assert graduated_total(tiers=tiers, quantity=4) == 500 + 200 + 300 + 100


def test_volume_charges_every_unit_at_the_tier_of_the_total() -> None:
    assert volume_total(tiers=STRIPE_EXAMPLE_TIERS, quantity=5) == 5000
    assert volume_total(tiers=STRIPE_EXAMPLE_TIERS, quantity=7) == 5600
    assert volume_total(tiers=STRIPE_EXAMPLE_TIERS, quantity=0) == 0


def test_volume_adds_only_the_reached_tiers_flat_amount() -> None:
    tiers = (
        Tier(up_to=10, unit_amount=Decimal(0), flat_amount=Decimal(2000)),
        Tier(up_to=None, unit_amount=Decimal(150), flat_amount=Decimal(1000)),
    )
    assert volume_total(tiers=tiers, quantity=10) == 2000
    assert volume_total(tiers=tiers, quantity=11) == 11 * 150 + 1000


def test_tiers_without_an_unbounded_last_tier_are_refused() -> None:
    with pytest.raises(ValueError, match="last tier"):
        graduated_total(tiers=(Tier(up_to=5, unit_amount=Decimal(1)),), quantity=3)


@pytest.mark.parametrize(
    ("quantity", "rounding", "packages"),
    [(1, "up", 1), (10, "up", 1), (11, "up", 2), (1, "down", 0), (19, "down", 1), (20, "down", 2)],
)
def test_package_count_is_ceil_or_floor_of_quantity_over_divide_by(
    quantity: int, rounding: str, packages: int
) -> None:
    assert package_count(quantity=quantity, divide_by=10, round=rounding) == packages  # type: ignore[arg-type]


def test_package_total_bills_whole_packages() -> None:
    assert package_total(unit_amount=5000, quantity=11, divide_by=10, round="up") == 10000
    assert package_total(unit_amount=5000, quantity=11, divide_by=10, round="down") == 5000


def test_negative_quantities_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        per_unit_total(unit_amount=100, quantity=-1)


def test_terms_read_from_stripe_json_drive_price_total() -> None:
    graduated = price_terms_from_stripe(
        data={
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "recurring": {"interval": "month", "interval_count": 1},
            "tiers": [
                {
                    "up_to": 5,
                    "unit_amount": 1000,
                    "unit_amount_decimal": "1000",
                    "flat_amount": None,
                },
                {
                    "up_to": None,
                    "unit_amount": 800,
                    "unit_amount_decimal": "800",
                    "flat_amount": None,
                },
            ],
        }
    )
    assert graduated.interval == "month"
    assert price_total(terms=graduated, quantity=7) == 6600
    package = price_terms_from_stripe(
        data={
            "currency": "usd",
            "billing_scheme": "per_unit",
            "unit_amount": 5000,
            "transform_quantity": {"divide_by": 10, "round": "up"},
        }
    )
    assert price_total(terms=package, quantity=25) == 15000
    decimal = price_terms_from_stripe(
        data={"currency": "usd", "unit_amount": None, "unit_amount_decimal": "0.25"}
    )
    assert price_total(terms=decimal, quantity=10) == 3  # 2.5 cents, half up


def test_annual_savings_are_computed_from_the_two_totals() -> None:
    assert (
        annual_savings_percent(monthly_total=1000, yearly_total=10000) == 16
    )  # 16.67 rounded down
    assert annual_savings_percent(monthly_total=1000, yearly_total=12000) is None
    assert annual_savings_percent(monthly_total=1000, yearly_total=13000) is None
    assert annual_savings_percent(monthly_total=0, yearly_total=0) is None


@pytest.mark.parametrize(
    ("amount", "currency", "cents", "text"),
    [
        (1250, "usd", None, "$12.50"),
        (1000, "usd", None, "$10"),
        (1000, "usd", True, "$10.00"),
        (123456789, "usd", None, "$1,234,567.89"),
        (833.3333, "usd", True, "$8.33"),
        (1200, "jpy", None, "¥1,200"),
        (999, "eur", None, "€9.99"),
        (1250, "chf", None, "CHF 12.50"),
        (-500, "usd", None, "-$5"),
    ],
)
def test_amount_format_reads_like_a_price(
    amount: float, currency: str, cents: bool | None, text: str
) -> None:
    assert amount_format(amount=Decimal(str(amount)), currency=currency, cents=cents) == text


def test_describe_names_each_tier_and_the_package_size() -> None:
    graduated = PriceTerms(
        currency="usd", billing_scheme="tiered", tiers_mode="graduated", tiers=STRIPE_EXAMPLE_TIERS
    )
    assert price_terms_describe(terms=graduated) == [
        "Seats 1\N{EN DASH}5: $10 each",
        "Seats 6+: $8 each",
    ]
    volume = PriceTerms(
        currency="usd", billing_scheme="tiered", tiers_mode="volume", tiers=STRIPE_EXAMPLE_TIERS
    )
    assert "tier your total reaches" in price_terms_describe(terms=volume)[-1]
    package = PriceTerms(currency="usd", unit_amount=Decimal(5000), divide_by=10, round="up")
    assert price_terms_describe(terms=package)[0] == "$50 per 10 seats"
    assert price_terms_describe(terms=PriceTerms(currency="usd", unit_amount=Decimal(900))) == [
        "$9 per seat"
    ]
