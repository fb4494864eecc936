"""Price maths as Stripe documents it: graduated, volume and package pricing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stripe_server.amounts import billed_quantity, price_amount


def _tiered(mode: str, tiers: list[tuple[int | None, int, int]]) -> dict:
    return {
        "billing_scheme": "tiered",
        "tiers_mode": mode,
        "tiers": [
            {"up_to": up_to, "unit_amount": unit, "unit_amount_decimal": str(unit),
             "flat_amount": flat, "flat_amount_decimal": str(flat)}
            for up_to, unit, flat in tiers
        ],
    }  # fmt: skip


SEATS = [(5, 1000, 0), (None, 800, 0)]


@pytest.mark.parametrize(("quantity", "expected"), [(0, 0), (1, 1000), (5, 5000), (7, 6600)])
def test_graduated_tiers_charge_each_unit_in_its_tier(quantity: int, expected: int) -> None:
    assert price_amount(_tiered("graduated", SEATS), quantity) == expected


@pytest.mark.parametrize(("quantity", "expected"), [(1, 1000), (5, 5000), (7, 5600)])
def test_volume_tiers_charge_all_units_at_the_tier_of_the_total(
    quantity: int, expected: int
) -> None:
    assert price_amount(_tiered("volume", SEATS), quantity) == expected


def test_flat_amounts_add_per_reached_tier() -> None:
    tiers = [(5, 0, 2000), (None, 500, 1000)]
    assert price_amount(_tiered("graduated", tiers), 3) == 2000
    assert price_amount(_tiered("graduated", tiers), 7) == 2000 + 1000 + 2 * 500
    assert price_amount(_tiered("volume", tiers), 7) == 1000 + 7 * 500


@pytest.mark.parametrize(
    ("rounding", "quantity", "packages"),
    [("up", 1, 1), ("up", 10, 1), ("up", 11, 2), ("down", 11, 1), ("down", 9, 0), ("up", 0, 0)],
)
def test_package_pricing_rounds_quantity_over_divide_by(
    rounding: str, quantity: int, packages: int
) -> None:
    price = {
        "billing_scheme": "per_unit",
        "unit_amount": 2500,
        "unit_amount_decimal": "2500",
        "transform_quantity": {"divide_by": 10, "round": rounding},
    }
    assert billed_quantity(price, quantity) == packages
    assert price_amount(price, quantity) == packages * 2500


def test_decimal_unit_amounts_round_half_up_to_the_minor_unit() -> None:
    price = {"billing_scheme": "per_unit", "unit_amount": None, "unit_amount_decimal": "0.5"}
    assert price_amount(price, 3) == 2


GRADUATED_USAGE = {
    "billing_scheme": "tiered",
    "tiers_mode": "graduated",
    "tiers": [
        {"up_to": 10_000, "unit_amount": 0, "unit_amount_decimal": "0",
         "flat_amount": None, "flat_amount_decimal": None},
        {"up_to": None, "unit_amount": None, "unit_amount_decimal": "0.2",
         "flat_amount": None, "flat_amount_decimal": None},
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("usage", "cents"),
    [
        (0, 0),
        (10_000, 0),
        (12_345, 469),  # 2,345 x 0.2 = 469.0
        (12_347, 469),  # 469.4 rounds down
        (12_348, 470),  # 469.6 rounds up
        (Decimal("12347.5"), 470),  # fractional usage: 469.5 rounds half up
        (Decimal("10000.4"), 0),  # 0.08 of a cent
    ],
)
def test_metered_usage_through_decimal_tiers_rounds_once_per_line(
    usage: int | Decimal, cents: int
) -> None:
    assert price_amount(GRADUATED_USAGE, usage) == cents
