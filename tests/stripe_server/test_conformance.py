"""Every object the server returns has the top-level keys and JSON types of Stripe's fixture.

The reference is Stripe's `fixtures3.json` (from its OpenAPI repository), kept outside the
project at `../shared/stripe/fixtures3.json`; these tests skip, saying so, when it is absent.
"""

from __future__ import annotations

import importlib
from decimal import Decimal
from typing import Any

import pytest
import stripe
from stripe._object_classes import OBJECT_CLASSES

from stripe_server.testing import LocalStripe

# Keys that must never be null, whatever the fixture says (dj-stripe needs them).
NEVER_NULL = {"id", "object", "created", "livemode", "metadata"}
NEVER_NULL_BY_RESOURCE = {
    "price": {"active", "product"},
    "subscription": {"customer", "items", "default_tax_rates"},
    "invoice": {"customer", "lines", "parent"},
    "customer": {"invoice_settings"},
}


def _json_type(value: Any) -> str:
    if isinstance(value, Decimal):
        return "str"  # the SDK turns `*_decimal` JSON strings into Decimals
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _sdk_fields(resource: str) -> set[str]:
    module_name, class_name = OBJECT_CLASSES[resource]
    sdk_class = getattr(importlib.import_module(module_name), class_name)
    return set(sdk_class.__annotations__)


@pytest.fixture(scope="module")
def fixtures(stripe_fixtures: dict[str, Any]) -> dict[str, Any]:
    return stripe_fixtures


def _assert_conforms(resource: str, obj: dict[str, Any], fixtures: dict[str, Any]) -> None:
    reference = fixtures[resource]
    ours = obj.to_dict() if hasattr(obj, "to_dict") else obj
    # Where the fixture still holds a key that stripe-python's type for this version no longer
    # declares (the invoice example's top-level `subscription`), the SDK's type wins.
    missing = {key for key in reference.keys() - ours.keys() if key in _sdk_fields(resource)}
    extra = ours.keys() - reference.keys()
    assert not missing, f"{resource} lacks {sorted(missing)}"
    assert not extra, f"{resource} has unexpected {sorted(extra)}"
    required = NEVER_NULL | NEVER_NULL_BY_RESOURCE.get(resource, set())
    for key, expected in reference.items():
        if key not in ours:
            continue  # a stale fixture key, allowed above
        value = ours[key]
        if value is None:
            assert key not in required, f"{resource}.{key} must not be null"
            continue
        if expected is None:
            continue
        assert _json_type(value) == _json_type(expected), (
            f"{resource}.{key} is {_json_type(value)}, fixture has {_json_type(expected)}"
        )
    assert ours["object"] == reference["object"]


@pytest.fixture(scope="module")
def sample(local_stripe: LocalStripe) -> dict[str, Any]:
    """One of each served resource, made through the API."""
    sdk = stripe.StripeClient(local_stripe.api_key, base_addresses={"api": local_stripe.api_base})
    product = sdk.v1.products.create({"name": "Conformance"})
    price = sdk.v1.prices.create(
        {"product": product.id, "currency": "usd", "unit_amount": 1200,
         "recurring": {"interval": "month"}, "transform_quantity": {"divide_by": 5,
                                                                    "round": "up"}}
    )  # fmt: skip
    customer = sdk.v1.customers.create(
        {"email": "shape@example.com", "payment_method": "pm_card_visa",
         "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )  # fmt: skip
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id, "quantity": 2}]}
    )
    endpoint = sdk.v1.webhook_endpoints.create(
        {"url": "http://127.0.0.1:9/never", "enabled_events": ["invoice.paid"]}
    )
    sdk.v1.webhook_endpoints.delete(endpoint.id)
    invoice = sdk.v1.invoices.retrieve(subscription.latest_invoice)
    dearer = sdk.v1.prices.create(
        {"product": product.id, "currency": "usd", "unit_amount": 2400,
         "recurring": {"interval": "month"}}
    )  # fmt: skip
    changed = sdk.v1.subscriptions.update(
        subscription.id,
        {"items": [{"id": subscription["items"].data[0].id, "price": dearer.id}],
         "proration_behavior": "create_prorations"},
    )  # fmt: skip
    addon = sdk.v1.subscription_items.create(
        {"subscription": subscription.id, "price": price.id, "proration_behavior": "none"}
    )
    checkout = sdk.v1.checkout.sessions.create(
        {"mode": "subscription", "line_items": [{"price": price.id, "quantity": 1}],
         "success_url": "http://127.0.0.1:9/ok", "cancel_url": "http://127.0.0.1:9/back"}
    )  # fmt: skip
    coupon = sdk.v1.coupons.create({"percent_off": 25.5, "duration": "forever"})
    promotion_code = sdk.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}}
    )
    discounted = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}],
         "discounts": [{"promotion_code": promotion_code.id}], "expand": ["discounts"]}
    )  # fmt: skip
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": changed.created})
    meter = sdk.v1.billing.meters.create(
        {"display_name": "Conformance", "event_name": f"conformance_{clock.id}",
         "default_aggregation": {"formula": "sum"}}
    )  # fmt: skip
    meter_event = sdk.v1.billing.meter_events.create(
        {"event_name": meter.event_name,
         "payload": {"stripe_customer_id": customer.id, "value": "25"}}
    )  # fmt: skip
    minute = meter_event.timestamp // 60 * 60
    gone_price = sdk.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 1})
    return {
        "invoiceitem": sdk.v1.invoice_items.list({"customer": customer.id, "pending": True}).data[
            0
        ],
        "plan": changed["items"].data[0].plan,
        "deleted_subscription_item": sdk.v1.subscription_items.delete(
            addon.id, {"proration_behavior": "none"}
        ),
        "checkout.session": sdk.v1.checkout.sessions.retrieve(checkout.id),
        "item": sdk.v1.checkout.sessions.line_items.list(checkout.id).data[0],
        "billing_portal.configuration": sdk.v1.billing_portal.configurations.list(
            {"is_default": True}
        ).data[0],
        "billing_portal.session": sdk.v1.billing_portal.sessions.create(
            {"customer": customer.id, "return_url": "http://127.0.0.1:9/account"}
        ),
        "test_helpers.test_clock": sdk.v1.test_helpers.test_clocks.retrieve(clock.id),
        "deleted_test_helpers.test_clock": sdk.v1.test_helpers.test_clocks.delete(clock.id),
        "deleted_customer": sdk.v1.customers.delete(
            sdk.v1.customers.create({"email": "gone@example.com"}).id
        ),
        "deleted_webhook_endpoint": sdk.v1.webhook_endpoints.delete(
            sdk.v1.webhook_endpoints.create(
                {"url": "http://127.0.0.1:9/gone", "enabled_events": ["invoice.paid"]}
            ).id
        ),
        "deleted_price": local_stripe.admin("DELETE", f"/_local/prices/{gone_price.id}"),
        "account": sdk.v1.accounts.retrieve_current(),
        "product": sdk.v1.products.retrieve(product.id),
        "price": sdk.v1.prices.retrieve(price.id),
        "customer": sdk.v1.customers.retrieve(customer.id),
        "payment_method": sdk.v1.payment_methods.list({"customer": customer.id}).data[0],
        "subscription": sdk.v1.subscriptions.retrieve(subscription.id),
        "subscription_item": sdk.v1.subscription_items.retrieve(subscription["items"].data[0].id),
        "invoice": invoice,
        "line_item": invoice.lines.data[0],
        "event": sdk.v1.events.list({"limit": 1}).data[0],
        "webhook_endpoint": {k: v for k, v in endpoint.to_dict().items() if k != "secret"},
        "deleted_product": sdk.v1.products.delete(sdk.v1.products.create({"name": "Gone"}).id),
        "coupon": sdk.v1.coupons.retrieve(coupon.id),
        "promotion_code": sdk.v1.promotion_codes.retrieve(promotion_code.id),
        "discount": discounted.discounts[0],
        "deleted_coupon": sdk.v1.coupons.delete(sdk.v1.coupons.create({"percent_off": 1}).id),
        "billing.meter": sdk.v1.billing.meters.retrieve(meter.id),
        "billing.meter_event": meter_event,
        "billing.meter_event_summary": sdk.v1.billing.meters.event_summaries.list(
            meter.id, {"customer": customer.id, "start_time": minute, "end_time": minute + 60}
        ).data[0],
        "billing.meter_event_adjustment": sdk.v1.billing.meter_event_adjustments.create(
            {
                "event_name": meter.event_name,
                "type": "cancel",
                "cancel": {"identifier": meter_event.identifier},
            }
        ),
    }


@pytest.mark.parametrize(
    "resource",
    [
        "account",
        "product",
        "price",
        "customer",
        "payment_method",
        "subscription",
        "subscription_item",
        "invoice",
        "line_item",
        "event",
        "webhook_endpoint",
        "deleted_product",
        "invoiceitem",
        "plan",
        "deleted_subscription_item",
        "checkout.session",
        "item",
        "billing_portal.configuration",
        "billing_portal.session",
        "test_helpers.test_clock",
        "deleted_test_helpers.test_clock",
        "deleted_customer",
        "deleted_webhook_endpoint",
        "deleted_price",
        "coupon",
        "promotion_code",
        "discount",
        "deleted_coupon",
        "billing.meter",
        "billing.meter_event",
        "billing.meter_event_summary",
        "billing.meter_event_adjustment",
    ],
)
def test_served_object_matches_fixture_shape(
    resource: str, sample: dict[str, Any], fixtures: dict[str, Any]
) -> None:
    _assert_conforms(resource, sample[resource], fixtures)


def test_embedded_subscription_items_match_the_item_fixture(
    sample: dict[str, Any], fixtures: dict[str, Any]
) -> None:
    for item in sample["subscription"]["items"].data:
        _assert_conforms("subscription_item", item, fixtures)
        _assert_conforms("price", item.price, fixtures)
