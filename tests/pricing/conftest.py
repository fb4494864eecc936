"""Fixtures for the pricing tests: demo plans and made-to-measure catalogs in local Stripe."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import get_resolver

from portal.stripe_client import stripe_client
from pricing import metadata
from pricing.metadata import ProductMetadata
from pricing.services import stripe_catalog_sync
from stripe_server.testing import LocalStripe


@pytest.fixture
def demo_catalog(stripe_settings: LocalStripe, db: None) -> str:
    """The demo products in local Stripe, synced into the database; the sync's output."""
    call_command("bootstrap_demo_products", stdout=io.StringIO())
    output = io.StringIO()
    call_command("bootstrap_subscriptions", stdout=output)
    return output.getvalue()


@pytest.fixture
def use_products(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[ProductMetadata]], None]:
    """Make pricing/metadata.py list these products (as a project editing it would).

    The URLconf is loaded first: the demo pages' plan gating names the shipped plans when the
    URLconf is imported.
    """
    get_resolver().url_patterns  # noqa: B018

    def apply(products: list[ProductMetadata]) -> None:
        monkeypatch.setattr(metadata, "ACTIVE_PRODUCTS", products)

    return apply


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_plans(stripe_settings: LocalStripe, db: None) -> Callable[..., list[ProductMetadata]]:
    """Create `count` products in local Stripe, each with a monthly and a yearly price, sync
    them, and return their metadata (not yet active: pass it to `use_products`)."""

    def make(count: int, **price_params: Any) -> list[ProductMetadata]:
        client = stripe_client()
        made = []
        for position in range(count):
            product = client.v1.products.create(
                params={"id": unique("prod_t"), "name": f"Plan {position}"}
            )
            for interval, amount in (("month", 1000 + position), ("year", 10000 + position)):
                params: dict[str, Any] = {
                    "product": product.id,
                    "currency": "usd",
                    "recurring": {"interval": interval},
                    "unit_amount": amount,
                    **price_params,
                }
                if "tiers" in price_params:
                    params.pop("unit_amount")
                client.v1.prices.create(params=params)
            made.append(
                ProductMetadata(
                    stripe_id=product.id, slug=f"plan-{position}", name=f"Plan {position}"
                )
            )
        stripe_catalog_sync()
        return made

    return make
