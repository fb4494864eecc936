"""The page's price maths agree with what (local) Stripe invoices for the same price."""

from __future__ import annotations

from typing import Any

import pytest

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
