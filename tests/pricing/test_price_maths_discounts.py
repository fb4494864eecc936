"""Coupon maths: what a coupon takes off a total of every price kind, and how it is worded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pricing.price_maths import (
    CouponTerms,
    PriceTerms,
    Tier,
    coupon_describe,
    coupon_terms_from_stripe,
    discount_amount,
    discounted_total,
    price_total,
)

TWENTY_PERCENT = CouponTerms(id="c20", percent_off=Decimal(20), duration="repeating",
                             duration_in_months=3)  # fmt: skip
TEN_DOLLARS = CouponTerms(id="c10", amount_off=1000, currency="usd")


def test_a_percent_off_is_rounded_half_up_to_the_cent() -> None:
    # 20% of $66.00 is $13.20; 15% of 25 cents is 3.75 cents, taken as 4.
    assert discount_amount(total=6600, currency="usd", coupon=TWENTY_PERCENT) == 1320
    fifteen = CouponTerms(id="c15", percent_off=Decimal(15))
    assert discount_amount(total=25, currency="usd", coupon=fifteen) == 4
    # 12.5% of 4 cents is half a cent: half up takes 1.
    eighth = CouponTerms(id="c125", percent_off=Decimal("12.5"))
    assert discount_amount(total=4, currency="usd", coupon=eighth) == 1
    assert discounted_total(total=4, currency="usd", coupon=eighth) == 3


def test_an_amount_off_is_capped_at_the_total_and_only_in_its_currency() -> None:
    assert discounted_total(total=5000, currency="usd", coupon=TEN_DOLLARS) == 4000
    assert discounted_total(total=600, currency="usd", coupon=TEN_DOLLARS) == 0
    assert discounted_total(total=5000, currency="eur", coupon=TEN_DOLLARS) == 5000
    assert discounted_total(total=5000, currency="USD", coupon=TEN_DOLLARS) == 4000


def test_nothing_is_taken_off_nothing() -> None:
    assert discount_amount(total=0, currency="usd", coupon=TWENTY_PERCENT) == 0
    everything = CouponTerms(id="c100", percent_off=Decimal(100))
    assert discounted_total(total=999, currency="usd", coupon=everything) == 0


TIERS = (Tier(up_to=5, unit_amount=Decimal(1000)), Tier(up_to=None, unit_amount=Decimal(800)))
PRICES = {
    "per_unit": PriceTerms(currency="usd", unit_amount=Decimal("333.3")),
    "package": PriceTerms(currency="usd", unit_amount=Decimal(5000), divide_by=10, round="up"),
    "graduated": PriceTerms(
        currency="usd", billing_scheme="tiered", tiers_mode="graduated", tiers=TIERS
    ),
    "volume": PriceTerms(currency="usd", billing_scheme="tiered", tiers_mode="volume", tiers=TIERS),
}
# Totals worked out by hand, then 20% off each, rounded half up.
EXPECTED = {
    ("per_unit", 7): (2333, 2333 - 467),  # 7 x 3.333 = 23.331 -> $23.33; 20% = 4.666 -> 4.67
    ("package", 7): (5000, 4000),  # one pack of 10
    ("package", 11): (10000, 8000),  # two packs
    ("graduated", 7): (6600, 6600 - 1320),  # 5 x $10 + 2 x $8
    ("graduated", 3): (3000, 2400),
    ("volume", 7): (5600, 5600 - 1120),  # 7 x $8
    ("volume", 3): (3000, 2400),
}


@pytest.mark.parametrize(("kind", "seats"), sorted(EXPECTED))
def test_every_price_kind_is_discounted_on_its_total_for_the_seats(kind: str, seats: int) -> None:
    total = price_total(terms=PRICES[kind], quantity=seats)
    assert (total, discounted_total(total=total, currency="usd", coupon=TWENTY_PERCENT)) == (
        EXPECTED[kind, seats]
    )


def test_terms_are_read_from_stripes_coupon() -> None:
    coupon = coupon_terms_from_stripe(
        data={
            "id": "LAUNCH", "object": "coupon", "percent_off": 25.5, "amount_off": None,
            "currency": None, "duration": "repeating", "duration_in_months": 3,
            "applies_to": {"products": ["prod_a"]},
        }
    )  # fmt: skip
    assert coupon.percent_off == Decimal("25.5")
    assert coupon.applies_to(product_id="prod_a")
    assert not coupon.applies_to(product_id="prod_b")
    everything = coupon_terms_from_stripe(data={"id": "X", "amount_off": 500, "currency": "EUR"})
    assert (everything.amount_off, everything.currency) == (500, "eur")
    assert everything.applies_to(product_id="prod_b")


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"percent_off": 20, "duration": "repeating", "duration_in_months": 3},
         "20% off for 3 months"),
        ({"percent_off": 20, "duration": "repeating", "duration_in_months": 1},
         "20% off for 1 month"),
        ({"percent_off": 20, "duration": "forever"}, "20% off forever"),
        ({"percent_off": "12.5", "duration": "once"}, "12.5% off once"),
        ({"amount_off": 1000, "currency": "usd", "duration": "once"}, "$10 off once"),
        ({"amount_off": 1050, "currency": "eur", "duration": "repeating",
          "duration_in_months": 6}, "€10.50 off for 6 months"),
    ],
)  # fmt: skip
def test_a_coupon_is_described_in_a_few_words(data: dict, text: str) -> None:
    assert coupon_describe(coupon=coupon_terms_from_stripe(data={"id": "c", **data})) == text
