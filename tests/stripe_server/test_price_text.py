"""Prices worded as a pricing page words them, on the hosted pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stripe_server.hosted.page import price_money
from stripe_server.hosted.price_text import interval_label, price_terms, unit_name

MONTH = {"interval": "month", "interval_count": 1}
SEAT = {"unit_label": "seat"}


def _per_unit(amount: int | None, recurring: dict = MONTH, **extra: object) -> dict:
    return {"billing_scheme": "per_unit", "unit_amount": amount, "currency": "usd",
            "recurring": recurring, "transform_quantity": None, **extra}  # fmt: skip


def _tiered(mode: str, tiers: list[tuple[int | None, int, int]]) -> dict:
    return {
        "billing_scheme": "tiered", "tiers_mode": mode, "currency": "usd", "recurring": MONTH,
        "tiers": [{"up_to": up_to, "unit_amount": unit, "flat_amount": flat}
                  for up_to, unit, flat in tiers],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1000, "usd", "$10"),
        (1250, "usd", "$12.50"),
        (123456, "eur", "€1,234.56"),
        (500, "jpy", "¥500"),
        (Decimal("0.5"), "usd", "$0.005"),
        (-800, "usd", "-$8"),
    ],
)
def test_amounts_drop_the_zero_cents_and_keep_fractions(
    amount: Decimal | int, currency: str, text: str
) -> None:
    assert price_money(amount, currency) == text


@pytest.mark.parametrize(
    ("price", "product", "text"),
    [
        (_per_unit(1000), {}, "$10 per month"),
        (_per_unit(10000, {"interval": "year", "interval_count": 1}), {}, "$100 per year"),
        (_per_unit(3000, {"interval": "month", "interval_count": 3}), {}, "$30 every 3 months"),
        (_per_unit(1000), SEAT, "$10 per seat per month"),
        (
            _per_unit(2500, transform_quantity={"divide_by": 10, "round": "up"}),
            SEAT,
            "$25 per 10 seats per month",
        ),
        (
            _per_unit(2500, transform_quantity={"divide_by": 10, "round": "up"}),
            {},
            "$25 per 10 units per month",
        ),
    ],
)
def test_per_unit_and_package_prices(price: dict, product: dict, text: str) -> None:
    assert price_terms(price, product) == text


@pytest.mark.parametrize(
    ("mode", "tiers", "text"),
    [
        ("graduated", [(5, 1000, 0), (None, 800, 0)], "$10 per seat per month for 1–5, then $8"),
        (
            "graduated",
            [(5, 1000, 0), (20, 900, 0), (None, 800, 0)],
            "$10 per seat per month for 1–5, $9 for 6–20, then $8",
        ),
        ("graduated", [(3, 0, 0), (None, 800, 0)], "Free for 1–3, then $8 per seat per month"),
        (
            "graduated",
            [(5, 0, 5000), (None, 800, 0)],
            "$50 flat per month for 1–5, then $8 per seat",
        ),
        (
            "graduated",
            [(5, 1000, 500), (None, 800, 0)],
            "$10 per seat plus a $5 flat fee per month for 1–5, then $8",
        ),
        (
            "volume",
            [(5, 1000, 0), (None, 800, 0)],
            "Volume pricing: $10 per seat per month for 1–5 seats, $8 per seat for 6 or more",
        ),
    ],
)
def test_tiered_prices_name_each_tier(
    mode: str, tiers: list[tuple[int | None, int, int]], text: str
) -> None:
    assert price_terms(_tiered(mode, tiers), SEAT) == text


METERED = {**MONTH, "usage_type": "metered", "meter": "mtr_test_1"}


@pytest.mark.parametrize(
    ("price", "product", "text"),
    [
        (
            {
                **_tiered("graduated", [(10_000, 0, 0), (None, 0, 0)]),
                "recurring": METERED,
                "tiers": [
                    {"up_to": 10_000, "unit_amount": 0, "flat_amount": None},
                    {
                        "up_to": None,
                        "unit_amount": None,
                        "unit_amount_decimal": "0.2",
                        "flat_amount": None,
                    },
                ],
            },
            {},
            "Usage-based, $0.002 per unit after 10,000",
        ),
        (_per_unit(None, METERED, unit_amount_decimal="0.5"), {}, "Usage-based, $0.005 per unit"),
        (_per_unit(2, METERED), {"unit_label": "call"}, "Usage-based, $0.02 per call"),
        (
            _per_unit(500, METERED, transform_quantity={"divide_by": 1000, "round": "up"}),
            {"unit_label": "call"},
            "Usage-based, $5 per 1,000 calls",
        ),
        (
            {**_tiered("graduated", [(1000, 100, 0), (None, 50, 0)]), "recurring": METERED},
            {},
            "Usage-based: $1 per unit per month for 1–1000, then $0.50",
        ),
    ],
)
def test_metered_prices_say_they_bill_usage(price: dict, product: dict, text: str) -> None:
    assert price_terms(price, product) == text


def test_units_and_intervals_read_naturally() -> None:
    assert [unit_name({"unit_label": label}, 2) for label in ("seat", "box", "copy", "day")] == [
        "seats",
        "boxes",
        "copies",
        "days",
    ]
    assert unit_name({}, 1) == "unit"
    assert interval_label(MONTH) == "Monthly"
    assert interval_label({"interval": "year", "interval_count": 1}) == "Yearly"
    assert interval_label({"interval": "week", "interval_count": 2}) == "Every 2 weeks"
