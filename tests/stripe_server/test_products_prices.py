"""Products and prices through the real `stripe` SDK, over HTTP."""

from __future__ import annotations

import uuid

import pytest
import stripe


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_product_create_retrieve_update_and_list(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create({"name": "Team", "metadata": {"tier": "team"}})
    assert product.id.startswith("prod_")
    assert product.object == "product"
    assert product.active is True

    fetched = sdk.v1.products.retrieve(product.id)
    assert fetched.name == "Team"
    assert fetched.metadata.to_dict() == {"tier": "team"}

    updated = sdk.v1.products.update(
        product.id, {"name": "Team plan", "metadata": {"tier": ""}, "active": False}
    )
    assert updated.name == "Team plan"
    assert updated.metadata.to_dict() == {}
    assert updated.active is False

    inactive_ids = [p.id for p in sdk.v1.products.list({"active": False, "limit": 100})]
    assert product.id in inactive_ids


def test_product_with_custom_id_and_duplicate_is_refused(sdk: stripe.StripeClient) -> None:
    product_id = f"prod_{uuid.uuid4().hex[:12]}"
    sdk.v1.products.create({"id": product_id, "name": "Custom"})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.products.create({"id": product_id, "name": "Again"})
    assert raised.value.code == "resource_already_exists"


def test_recurring_price_with_lookup_key_filters_by_lookup_keys(
    sdk: stripe.StripeClient,
) -> None:
    product = sdk.v1.products.create({"name": "Pro"})
    key = _unique("pro_monthly")
    monthly = sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1500,
            "recurring": {"interval": "month"},
            "lookup_key": key,
        }
    )
    sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 15000,
            "recurring": {"interval": "year"},
        }
    )
    assert monthly.type == "recurring"
    assert monthly.recurring.interval == "month"
    assert str(monthly.unit_amount_decimal) == "1500"

    found = sdk.v1.prices.list({"lookup_keys": [key], "expand": ["data.product"]})
    assert [p.id for p in found.data] == [monthly.id]
    assert found.data[0].product.name == "Pro"


def test_lookup_key_conflict_and_transfer(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create({"name": "Seats"})
    key = _unique("seats")
    base = {"product": product.id, "currency": "usd", "unit_amount": 100, "lookup_key": key}
    first = sdk.v1.prices.create(base)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.prices.create(base)
    assert raised.value.param == "lookup_key"
    second = sdk.v1.prices.create({**base, "transfer_lookup_key": True})
    assert sdk.v1.prices.retrieve(first.id).lookup_key is None
    assert sdk.v1.prices.retrieve(second.id).lookup_key == key


def test_tiered_price_returns_tiers_only_when_expanded(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create({"name": "Tiered"})
    price = sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": 5, "unit_amount": 1000},
                {"up_to": "inf", "unit_amount": 800, "flat_amount": 0},
            ],
            "recurring": {"interval": "month"},
        }
    )
    assert "tiers" not in price
    assert price.unit_amount is None
    expanded = sdk.v1.prices.retrieve(price.id, {"expand": ["tiers"]})
    assert [tier.up_to for tier in expanded.tiers] == [5, None]
    assert expanded.tiers[0].unit_amount == 1000


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"currency": "usd", "unit_amount": 100}, "product"),
        ({"currency": "usd"}, "unit_amount"),
        ({"unit_amount": 100}, "currency"),
        ({"currency": "usd", "unit_amount": -1}, "unit_amount"),
        (
            {"currency": "usd", "unit_amount": 1, "recurring": {"interval": "fortnight"}},
            "recurring[interval]",
        ),
        (
            {
                "currency": "usd",
                "billing_scheme": "tiered",
                "tiers_mode": "volume",
                "tiers": [{"up_to": 5, "unit_amount": 1}],
            },
            "tiers[0][up_to]",
        ),
        (
            {
                "currency": "usd",
                "unit_amount": 1,
                "transform_quantity": {"divide_by": 0, "round": "up"},
            },
            "transform_quantity[divide_by]",
        ),
        ({"currency": "usd", "unit_amount": 1, "bogus": "x"}, "bogus"),
    ],
)
def test_invalid_price_is_a_stripe_400_naming_the_param(
    sdk: stripe.StripeClient, params: dict, param: str
) -> None:
    if param != "product":
        params = {**params, "product": sdk.v1.products.create({"name": "P"}).id}
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.prices.create(params)
    assert raised.value.http_status == 400
    assert raised.value.param == param


def test_missing_product_is_404_resource_missing(sdk: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.products.retrieve("prod_doesnotexist")
    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"


def test_product_with_prices_cannot_be_deleted_but_bare_product_can(
    sdk: stripe.StripeClient,
) -> None:
    with_price = sdk.v1.products.create({"name": "Priced"})
    sdk.v1.prices.create({"product": with_price.id, "currency": "usd", "unit_amount": 5})
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.products.delete(with_price.id)
    bare = sdk.v1.products.create({"name": "Bare"})
    deleted = sdk.v1.products.delete(bare.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.products.retrieve(bare.id)


def test_default_price_data_creates_the_default_price(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create(
        {
            "name": "Starter",
            "default_price_data": {
                "currency": "usd",
                "unit_amount": 900,
                "recurring": {"interval": "month"},
            },
        }
    )
    price = sdk.v1.prices.retrieve(product.default_price)
    assert price.product == product.id
    assert price.unit_amount == 900
