"""The page's price maths agree with what (local) Stripe invoices for the same price."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from djstripe.models import Price, Product

from portal.stripe_client import stripe_client
from pricing.price_maths import price_terms_from_stripe, price_total
from pricing.services import stripe_json
from stripe_server.testing import LocalStripe

PRICES: dict[str, dict[str, Any]] = {
    "graduated": {
        "billing_scheme": "tiered",
        "tiers_mode": "graduated",
        "tiers": [
            {"up_to": 5, "unit_amount": 1000, "flat_amount": 300},
            {"up_to": "inf", "unit_amount": 800},
        ],
    },
    "volume": {
        "billing_scheme": "tiered",
        "tiers_mode": "volume",
        "tiers": [
            {"up_to": 5, "unit_amount": 1000},
            {"up_to": "inf", "unit_amount_decimal": "812.5"},
        ],
    },
    "package": {"unit_amount": 5000, "transform_quantity": {"divide_by": 10, "round": "up"}},
    "per_unit": {"unit_amount_decimal": "333.3"},
}


@pytest.mark.parametrize("kind", sorted(PRICES))
@pytest.mark.parametrize("quantity", [1, 7, 11])
def test_price_total_matches_the_first_invoice(
    stripe_settings: LocalStripe, kind: str, quantity: int
) -> None:
    client = stripe_client()
    product = client.v1.products.create(params={"name": f"Maths {kind}"})
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "recurring": {"interval": "month"},
            **PRICES[kind],
        }
    )
    price = client.v1.prices.retrieve(price.id, params={"expand": ["tiers"]})
    customer = client.v1.customers.create(
        params={
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    subscription = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id, "quantity": quantity}]}
    )
    invoice = client.v1.invoices.retrieve(subscription.latest_invoice)
    terms = price_terms_from_stripe(data=stripe_json(price))
    assert price_total(terms=terms, quantity=quantity) == invoice.subtotal


# --- With a promotion code ----------------------------------------------------------------------


def _percent_off_half_up(total: int, percent: int) -> int:
    """`total` less `percent`%, the discount rounded half up to the cent (as Stripe does)."""
    return total - (total * percent * 2 + 100) // 200


def _cents(text: str) -> int:
    dollars, _, cents = text.lstrip("$").replace(",", "").partition(".")
    return int(dollars) * 100 + int(cents or 0)


def _pricing_page_figure(client: Client, *, slug: str, seats: int, promo: str) -> int:
    html = client.get("/pricing/", {"seats": seats, "promo": promo}).content.decode()
    start = html.index(f'id="plan-{slug}-offer"')
    found = re.search(r"data-discounted-price>([^<]+)<", html[start:])
    assert found, f"no discounted price for {slug}"
    return _cents(found.group(1))


def _first_invoice(client_: Any, *, price_id: str, seats: int, promotion_code: str) -> Any:
    customer = client_.v1.customers.create(
        params={
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    subscription = client_.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price_id, "quantity": seats}],
            "discounts": [{"promotion_code": promotion_code}],
        }
    )
    return client_.v1.invoices.retrieve(subscription.latest_invoice)


# Team: graduated, seats 1-5 at $10 then $8; Seat packs: $50 per pack of 10, rounded up.
DEMO_TOTALS = {
    "team": lambda seats: 1000 * min(seats, 5) + 800 * max(seats - 5, 0),
    "seat-packs": lambda seats: 5000 * -(-seats // 10),
}
DEMO_PRICES = {"team": "portal_team_seats_month", "seat-packs": "portal_seat_packs_month"}


@pytest.mark.django_db
@pytest.mark.parametrize("slug", sorted(DEMO_TOTALS))
@pytest.mark.parametrize("seats", [1, 3, 7, 11, 23])
def test_the_pricing_pages_launch20_figure_is_the_discounted_invoice(
    demo_catalog: str, slug: str, seats: int
) -> None:
    client = stripe_client()
    [code] = client.v1.promotion_codes.list(params={"code": "LAUNCH20", "active": True}).data
    [price] = client.v1.prices.list(params={"lookup_keys": [DEMO_PRICES[slug]]}).data

    shown = _pricing_page_figure(Client(), slug=slug, seats=seats, promo="LAUNCH20")
    invoice = _first_invoice(client, price_id=price.id, seats=seats, promotion_code=code.id)

    expected = _percent_off_half_up(DEMO_TOTALS[slug](seats), 20)
    assert (invoice.subtotal, invoice.total) == (DEMO_TOTALS[slug](seats), expected)
    assert shown == invoice.total == expected


ODD_PRICES: dict[str, dict[str, Any]] = {
    "volume": PRICES["volume"],  # 1-5 at $10, then $8.125 each for all
    "per_unit": PRICES["per_unit"],  # $3.333 each
    "graduated_flat": PRICES["graduated"],  # 1-5 at $10 + $3 flat, then $8
}
ODD_TOTALS = {
    "volume": lambda seats: seats * 1000 if seats <= 5 else (seats * 8125 + 5) // 10,
    "per_unit": lambda seats: (seats * 3333 + 5) // 10,
    "graduated_flat": lambda seats: 300 + 1000 * min(seats, 5) + 800 * max(seats - 5, 0),
}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", sorted(ODD_PRICES))
@pytest.mark.parametrize("seats", [3, 7, 13])
@pytest.mark.parametrize("coupon", ["15_percent", "7_dollars"])
def test_every_price_kind_discounted_on_the_page_is_the_discounted_invoice(
    stripe_settings: LocalStripe, use_products: Any, kind: str, seats: int, coupon: str
) -> None:
    from pricing.metadata import ProductMetadata
    from pricing.services import coupon_sync, promotion_code_sync

    client = stripe_client()
    product = client.v1.products.create(params={"name": f"Discounted {kind}"})
    price = client.v1.prices.create(
        params={"product": product.id, "currency": "usd", "recurring": {"interval": "month"},
                **ODD_PRICES[kind]}
    )  # fmt: skip
    price = client.v1.prices.retrieve(price.id, params={"expand": ["tiers"]})
    Product.sync_from_stripe_data(client.v1.products.retrieve(product.id))
    Price.sync_from_stripe_data(price)
    terms = (
        {"percent_off": 15, "duration": "forever"}
        if coupon == "15_percent"
        else {"amount_off": 700, "currency": "usd", "duration": "once"}
    )
    made = client.v1.coupons.create(params=terms)
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": made.id}}
    )
    coupon_sync(coupon_id=made.id)
    promotion_code_sync(promotion_code_id=code.id)
    use_products([
        ProductMetadata(stripe_id=product.id, slug="odd", name="Odd", per_seat=True)
    ])  # fmt: skip

    shown = _pricing_page_figure(Client(), slug="odd", seats=seats, promo=code.code)
    invoice = _first_invoice(client, price_id=price.id, seats=seats, promotion_code=code.id)

    total = ODD_TOTALS[kind](seats)
    expected = _percent_off_half_up(total, 15) if coupon == "15_percent" else max(total - 700, 0)
    assert (invoice.subtotal, invoice.total) == (total, expected)
    assert shown == expected
