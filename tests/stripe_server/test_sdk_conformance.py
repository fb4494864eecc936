"""Every response the server sends has the shape stripe-python's generated classes declare.

The reference is the SDK itself (`stripe/_subscription.py` and the others, generated from
Stripe's OpenAPI spec at the SDK's pinned API version): no field is named here. One scenario
touches every resource the server serves, through the real SDK; a recording HTTP client keeps
the raw JSON of each response, and `sdk_shapes.shape_violations` walks it against the classes.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe

from stripe_server import extras, resources
from stripe_server.routing import ROUTES
from stripe_server.testing import LocalStripe
from tests.stripe_server.hosted_pages import post_form
from tests.stripe_server.sdk_shapes import sdk_class, shape_violations

HERE = "http://127.0.0.1:9"


class RecordingHTTPClient(stripe.RequestsClient):
    """The SDK's default HTTP client, keeping each successful response's request and JSON."""

    def __init__(self) -> None:
        super().__init__()
        self.responses: list[tuple[str, Any]] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        content, status, response_headers = super().request(method, url, headers, post_data)
        if 200 <= status < 300:
            self.responses.append((f"{method.upper()} {urlsplit(url).path}", json.loads(content)))
        return content, status, response_headers


@pytest.fixture(scope="module")
def recorded(local_stripe: LocalStripe) -> list[tuple[str, Any]]:
    """The raw responses of a scenario that touches every resource the server serves."""
    http = RecordingHTTPClient()
    sdk = stripe.StripeClient(
        local_stripe.api_key,
        base_addresses={"api": local_stripe.api_base},
        http_client=http,
        max_network_retries=0,
    )
    _scenario(sdk, local_stripe)
    return http.responses


def _scenario(sdk: stripe.StripeClient, local_stripe: LocalStripe) -> None:
    v1 = sdk.v1
    tag = uuid.uuid4().hex[:8]

    account = v1.accounts.retrieve_current()
    v1.accounts.retrieve(account.id)
    v1.accounts.list()

    # Products, with their (empty) features, and every kind of price.
    product = v1.products.create(
        {
            "name": f"Shape {tag}",
            "marketing_features": [{"name": "Everything"}],
            "default_price_data": {
                "currency": "usd",
                "unit_amount": 1000,
                "recurring": {"interval": "month"},
            },
        }
    )
    v1.products.update(product.id, {"description": "All the things", "metadata": {"k": "v"}})
    v1.products.retrieve(product.id, {"expand": ["default_price"]})
    v1.products.list({"limit": 3})
    v1.products.features.list(product.id)
    v1.products.delete(v1.products.create({"name": f"Gone {tag}"}).id)
    monthly = v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1200,
            "recurring": {"interval": "month"},
            "lookup_key": f"shape-{tag}",
            "nickname": "Monthly",
        }
    )
    package = v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
            "transform_quantity": {"divide_by": 5, "round": "up"},
        }
    )
    graduated = v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}],
            "recurring": {"interval": "month"},
        }
    )
    v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "volume",
            "tiers": [
                {"up_to": 10, "unit_amount": 900, "flat_amount": 100},
                {"up_to": "inf", "unit_amount_decimal": "700.5"},
            ],
            "recurring": {"interval": "year"},
        }
    )
    yearly = v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 12000,
            "recurring": {"interval": "year"},
        }
    )
    one_time = v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 99})
    # Usage-based billing: meters, and a graduated metered price on one.
    meter = v1.billing.meters.create(
        {"display_name": f"Calls {tag}", "event_name": f"calls_{tag}",
         "default_aggregation": {"formula": "sum"}}
    )  # fmt: skip
    v1.billing.meters.update(meter.id, {"display_name": f"API calls {tag}"})
    v1.billing.meters.retrieve(meter.id)
    v1.billing.meters.list({"status": "active", "limit": 3})
    spare = v1.billing.meters.create(
        {"display_name": "Spare", "event_name": f"spare_{tag}", "event_time_window": "day",
         "default_aggregation": {"formula": "count"},
         "customer_mapping": {"event_payload_key": "account", "type": "by_id"}}
    )  # fmt: skip
    v1.billing.meters.deactivate(spare.id)
    v1.billing.meters.reactivate(spare.id)
    metered = v1.prices.create(
        {"product": product.id, "currency": "usd", "billing_scheme": "tiered",
         "tiers_mode": "graduated",
         "tiers": [{"up_to": 100, "unit_amount": 0},
                   {"up_to": "inf", "unit_amount_decimal": "0.5"}],
         "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id}}
    )  # fmt: skip
    v1.prices.update(monthly.id, {"metadata": {"plan": "pro"}})
    v1.prices.retrieve(graduated.id, {"expand": ["tiers", "product"]})
    v1.prices.list({"lookup_keys": [f"shape-{tag}"]})
    v1.prices.list({"product": product.id, "expand": ["data.tiers"]})
    local_stripe.admin("DELETE", f"/_local/prices/{one_time.id}")

    # Customers and their cards.
    customer = v1.customers.create(
        {
            "email": f"shape-{tag}@example.com",
            "name": "Ada Shape",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    v1.customers.update(customer.id, {"metadata": {"team": "1"}, "phone": "+15555550100"})
    v1.customers.retrieve(customer.id, {"expand": ["subscriptions", "sources", "tax_ids"]})
    v1.customers.list({"email": customer.email})
    v1.customers.delete(v1.customers.create({"email": f"gone-{tag}@example.com"}).id)
    card = v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": "5555555555554444", "exp_month": 12, "exp_year": 2034},
            "billing_details": {"name": "Ada Shape"},
        }
    )
    v1.payment_methods.attach(card.id, {"customer": customer.id})
    v1.payment_methods.update(card.id, {"metadata": {"spare": "yes"}})
    v1.payment_methods.retrieve(card.id)
    v1.payment_methods.list({"customer": customer.id, "type": "card"})
    v1.customers.payment_methods.list(customer.id)
    sdk.raw_request("get", f"/v1/customers/{customer.id}/sources")
    v1.payment_methods.detach(card.id)

    # Subscriptions, their items, their invoices and pending invoice items.
    subscription = v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": monthly.id, "quantity": 2}, {"price": package.id, "quantity": 7}],
            "metadata": {"seats": "2"},
        }
    )
    v1.subscriptions.retrieve(
        subscription.id,
        {"expand": ["latest_invoice", "customer", "items.data.price.product"]},
    )
    first_item = subscription["items"].data[0]
    v1.subscriptions.update(
        subscription.id,
        {
            "items": [{"id": first_item.id, "quantity": 3}],
            "proration_behavior": "create_prorations",
        },
    )
    added = v1.subscription_items.create(
        {"subscription": subscription.id, "price": graduated.id, "quantity": 6}
    )
    v1.subscription_items.update(added.id, {"quantity": 7, "proration_behavior": "none"})
    v1.subscription_items.retrieve(added.id)
    v1.subscription_items.list({"subscription": subscription.id})
    v1.subscription_items.delete(added.id, {"proration_behavior": "none"})
    v1.invoice_items.list({"customer": customer.id, "pending": True})
    for invoice_item in v1.invoice_items.list({"customer": customer.id}).data:
        v1.invoice_items.retrieve(invoice_item.id)
    v1.subscriptions.update(subscription.id, {"cancel_at_period_end": True})
    v1.subscriptions.list({"customer": customer.id, "status": "all"})
    invoice = v1.invoices.retrieve(subscription.latest_invoice)
    v1.invoices.update(invoice.id, {"metadata": {"order": "1"}})
    v1.invoices.line_items.list(invoice.id)
    v1.invoices.list({"customer": customer.id, "expand": ["data.subscription"]})
    trial = v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": yearly.id}], "trial_period_days": 14}
    )
    v1.subscriptions.cancel(trial.id)

    # A card whose charges fail: an incomplete subscription, an open invoice, paid by another
    # card, and one voided.
    failing = v1.customers.create(
        {
            "email": f"fails-{tag}@example.com",
            "payment_method": "pm_card_chargeCustomerFail",
            "invoice_settings": {"default_payment_method": "pm_card_chargeCustomerFail"},
        }
    )
    incomplete = v1.subscriptions.create({"customer": failing.id, "items": [{"price": monthly.id}]})
    open_invoice = v1.invoices.retrieve(incomplete.latest_invoice)
    v1.payment_methods.attach("pm_card_visa", {"customer": failing.id})
    good = v1.payment_methods.list({"customer": failing.id}).data[0]
    v1.invoices.pay(open_invoice.id, {"payment_method": good.id})
    unpaid = v1.subscriptions.create(
        {
            "customer": failing.id,
            "items": [{"price": package.id, "quantity": 3}],
            "payment_behavior": "default_incomplete",
        }
    )
    v1.invoices.void_invoice(unpaid.latest_invoice)

    # Coupons, promotion codes and the discounts they make.
    coupon = v1.coupons.create(
        {"percent_off": 20, "duration": "repeating", "duration_in_months": 3,
         "applies_to": {"products": [product.id]}, "name": f"Twenty {tag}"}
    )  # fmt: skip
    v1.coupons.update(coupon.id, {"metadata": {"campaign": "shape"}})
    v1.coupons.retrieve(coupon.id, {"expand": ["applies_to"]})
    v1.coupons.list({"limit": 3})
    v1.coupons.delete(v1.coupons.create({"amount_off": 100, "currency": "usd"}).id)
    promotion_code = v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": f"SHAPE{tag}",
         "restrictions": {"minimum_amount": 1000, "minimum_amount_currency": "usd"}}
    )  # fmt: skip
    v1.promotion_codes.update(promotion_code.id, {"metadata": {"k": "v"}})
    v1.promotion_codes.retrieve(promotion_code.id, {"expand": ["promotion.coupon"]})
    v1.promotion_codes.list({"code": promotion_code.code})
    discounted = v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": monthly.id}],
         "discounts": [{"promotion_code": promotion_code.id}],
         "expand": ["discounts", "latest_invoice.total_discount_amounts.discount"]}
    )  # fmt: skip
    v1.invoices.retrieve(discounted.latest_invoice.id, {"expand": ["discounts"]})
    v1.invoices.create_preview(
        {"subscription": discounted.id,
         "subscription_details": {"items": [{"id": discounted["items"].data[0].id,
                                             "price": package.id, "quantity": 7}]},
         "expand": ["discounts"]}
    )  # fmt: skip
    v1.subscriptions.update(discounted.id, {"discounts": ""})

    # Plan changes: invoice previews, a declined change left pending, schedules.
    item = incomplete["items"].data[0]
    more_seats = {"items": [{"id": item.id, "quantity": 2}], "proration_behavior": "always_invoice"}
    v1.invoices.create_preview(
        {
            "subscription": incomplete.id,
            "subscription_details": {**more_seats, "proration_date": item.current_period_start},
        }
    )
    v1.invoices.create_preview(
        {"subscription": incomplete.id, "subscription_details": {"items": [{"id": item.id,
         "price": yearly.id}]}}
    )  # fmt: skip
    v1.invoices.create_preview({"customer": failing.id})
    v1.invoices.create_preview(
        {"customer": customer.id,
         "subscription_details": {"items": [{"price": graduated.id, "quantity": 6}]}}
    )  # fmt: skip
    held = v1.subscriptions.update(
        incomplete.id, {**more_seats, "payment_behavior": "pending_if_incomplete"}
    )
    assert held.pending_update is not None
    schedule = v1.subscription_schedules.create({"from_subscription": incomplete.id})
    current = schedule.phases[0]
    v1.subscription_schedules.update(
        schedule.id,
        {
            "phases": [
                {"items": [{"price": monthly.id, "quantity": 1}],
                 "start_date": current.start_date, "end_date": current.end_date},
                {"items": [{"price": package.id, "quantity": 3}],
                 "duration": {"interval": "month", "interval_count": 2}},
            ],
            "metadata": {"downgrade": "yes"},
        },
    )  # fmt: skip
    v1.subscription_schedules.retrieve(schedule.id, {"expand": ["subscription", "customer"]})
    v1.subscription_schedules.list({"customer": failing.id})
    v1.subscription_schedules.release(schedule.id)
    later = v1.subscription_schedules.create(
        {
            "customer": customer.id,
            "start_date": product.created + 86400,
            "end_behavior": "cancel",
            "phases": [{"items": [{"price": monthly.id}]}],
        }
    )
    v1.subscription_schedules.cancel(later.id)

    # Webhook endpoints.
    endpoint = v1.webhook_endpoints.create(
        {"url": f"{HERE}/never", "enabled_events": ["invoice.paid"], "description": "shape"}
    )
    v1.webhook_endpoints.update(endpoint.id, {"disabled": True})
    v1.webhook_endpoints.retrieve(endpoint.id)
    v1.webhook_endpoints.list()
    v1.webhook_endpoints.delete(endpoint.id)

    # Checkout: one session paid on the hosted page with a discount, one expired.
    paid = v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "line_items": [{"price": monthly.id, "quantity": 2}],
            "customer_email": f"checkout-{tag}@example.com",
            "client_reference_id": "user-1",
            "success_url": f"{HERE}/ok?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{HERE}/back",
            "metadata": {"plan": "pro"},
            "discounts": [{"coupon": v1.coupons.create({"percent_off": 10}).id}],
        }
    )
    page = post_form(
        paid.url,
        {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"},
    )
    assert page.status == 303, page.text
    v1.checkout.sessions.retrieve(
        paid.id,
        {"expand": ["line_items.data.discounts", "subscription", "total_details.breakdown"]},
    )
    v1.checkout.sessions.line_items.list(paid.id)
    v1.checkout.sessions.list({"status": "complete", "limit": 3})
    expired = v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": graduated.id, "quantity": 6}],
            "subscription_data": {"trial_period_days": 7},
            "success_url": f"{HERE}/ok",
            "cancel_url": f"{HERE}/back",
        }
    )
    v1.checkout.sessions.expire(expired.id)
    by_usage = v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "customer": customer.id,
            "line_items": [{"price": monthly.id, "quantity": 1}, {"price": metered.id}],
            "success_url": f"{HERE}/ok",
            "cancel_url": f"{HERE}/back",
        }
    )
    v1.checkout.sessions.line_items.list(by_usage.id)

    # The Customer Portal.
    default = v1.billing_portal.configurations.list({"is_default": True}).data[0]
    v1.billing_portal.configurations.retrieve(default.id)
    configuration = v1.billing_portal.configurations.create(
        {
            "business_profile": {"headline": "Shape"},
            "default_return_url": f"{HERE}/account",
            "features": {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price", "quantity"],
                    "products": [{"product": product.id, "prices": [monthly.id, yearly.id]}],
                    "proration_behavior": "create_prorations",
                },
                "subscription_cancel": {
                    "enabled": True,
                    "mode": "immediately",
                    "cancellation_reason": {"enabled": True, "options": ["too_expensive"]},
                },
                "payment_method_update": {"enabled": True},
                "invoice_history": {"enabled": True},
            },
        }
    )
    v1.billing_portal.configurations.update(configuration.id, {"metadata": {"v": "2"}})
    v1.billing_portal.configurations.list({"active": True})
    v1.billing_portal.sessions.create({"customer": customer.id, "return_url": f"{HERE}/account"})
    v1.billing_portal.sessions.create(
        {
            "customer": customer.id,
            "configuration": configuration.id,
            "flow_data": {
                "type": "subscription_update",
                "subscription_update": {"subscription": subscription.id},
                "after_completion": {
                    "type": "redirect",
                    "redirect": {"return_url": f"{HERE}/done"},
                },
            },
        }
    )

    # A test clock that renews a subscription, then goes away with its customer.
    clock = v1.test_helpers.test_clocks.create(
        {"frozen_time": product.created, "name": f"Shape {tag}"}
    )
    clocked = v1.customers.create(
        {
            "email": f"clock-{tag}@example.com",
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    usage = v1.subscriptions.create(
        {"customer": clocked.id, "items": [{"price": monthly.id}, {"price": metered.id}]}
    )
    for value in ("150", "20.5"):
        v1.billing.meter_events.create(
            {"event_name": meter.event_name,
             "payload": {"stripe_customer_id": clocked.id, "value": value}}
        )  # fmt: skip
    mistake = v1.billing.meter_events.create(
        {"event_name": meter.event_name, "identifier": f"mistake-{tag}",
         "payload": {"stripe_customer_id": clocked.id, "value": "1000"}}
    )  # fmt: skip
    v1.billing.meter_event_adjustments.create(
        {"event_name": meter.event_name, "type": "cancel",
         "cancel": {"identifier": mistake.identifier}}
    )  # fmt: skip
    day = clock.frozen_time // 86400 * 86400
    v1.billing.meters.event_summaries.list(
        meter.id, {"customer": clocked.id, "start_time": day, "end_time": day + 86400}
    )
    v1.billing.meters.event_summaries.list(
        meter.id, {"customer": clocked.id, "start_time": day, "end_time": day + 86400,
                   "value_grouping_window": "hour"}
    )  # fmt: skip
    v1.invoices.create_preview({"subscription": usage.id})
    # A trial without a card pauses at its end, and resumes once a card is there.
    cardless = v1.customers.create({"email": f"trial-{tag}@example.com", "test_clock": clock.id})
    trial = v1.subscriptions.create(
        {
            "customer": cardless.id,
            "items": [{"price": monthly.id, "quantity": 2}],
            "trial_period_days": 7,
            "trial_settings": {"end_behavior": {"missing_payment_method": "pause"}},
        }
    )
    v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": clock.frozen_time + 35 * 86400})
    assert v1.subscriptions.retrieve(trial.id).status == "paused"
    card = v1.payment_methods.attach("pm_card_visa", {"customer": cardless.id})
    v1.customers.update(cardless.id, {"invoice_settings": {"default_payment_method": card.id}})
    resumed = v1.subscriptions.resume(trial.id, {"expand": ["latest_invoice"]})
    assert resumed.status == "active", resumed.status
    v1.test_helpers.test_clocks.retrieve(clock.id)
    v1.test_helpers.test_clocks.list()
    v1.invoices.list({"customer": clocked.id})
    v1.test_helpers.test_clocks.delete(clock.id)

    # The events all of this emitted (the clock's too: its time starts at the server's now),
    # every page of them, each with its object in `data`.
    emitted = v1.events.list({"created": {"gte": product.created}, "limit": 30})
    types = {event.type for event in emitted.auto_paging_iter()}
    assert {"price.deleted", "test_helpers.test_clock.ready"} <= types, types
    v1.events.retrieve(emitted.data[0].id)


def test_scenario_touches_every_served_object(recorded: list[tuple[str, Any]]) -> None:
    served = {body["object"] for _, body in recorded} | {
        item["object"] for _, body in recorded if body["object"] == "list" for item in body["data"]
    }
    # Product features are served as lists only, and always empty.
    assert any(request.endswith("/features") for request, _ in recorded)
    for name in (
        "account",
        "product",
        "price",
        "customer",
        "payment_method",
        "subscription",
        "subscription_item",
        "invoice",
        "line_item",
        "invoiceitem",
        "event",
        "webhook_endpoint",
        "checkout.session",
        "item",
        "billing_portal.configuration",
        "billing_portal.session",
        "test_helpers.test_clock",
        "subscription_schedule",
        "coupon",
        "promotion_code",
        "billing.meter",
        "billing.meter_event",
        "billing.meter_event_adjustment",
        "billing.meter_event_summary",
    ):
        assert name in served, f"the scenario got no {name}"
    unknown = sorted(name for name in served if sdk_class(name) is None and name != "list")
    assert not unknown, f"objects stripe-python has no class for: {unknown}"


def test_every_response_has_the_shape_of_its_sdk_class(
    recorded: list[tuple[str, Any]],
) -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for request, body in recorded:
        for violation in shape_violations(body):
            where[violation].append(request)
    report = [
        f"{violation}  [{len(requests)}x, first in {requests[0]}]"
        for violation, requests in sorted(where.items())
    ]
    assert not report, f"{len(report)} differences from stripe-python's classes:\n" + "\n".join(
        report
    )


def _served(recorded: list[tuple[str, Any]], request: str) -> dict[str, Any]:
    return copy.deepcopy(next(body for made, body in recorded if made == request))


def test_the_check_names_each_difference_by_path(recorded: list[tuple[str, Any]]) -> None:
    """The check is not vacuous: a served subscription, spoiled in six ways, shows six."""
    subscription = _served(recorded, "POST /v1/subscriptions")
    del subscription["automatic_tax"]
    subscription["surprise"] = 1
    subscription["customer"] = None
    subscription["cancel_at_period_end"] = "no"
    subscription["items"]["data"][0]["price"]["object"] = "prices"
    subscription["items"]["data"][0]["price"]["recurring"]["usage_type"] = None
    found = shape_violations(subscription)
    expected = {
        "subscription.automatic_tax: missing",
        "subscription.surprise: not a field of Subscription",
        "subscription.customer: null",
        "subscription.cancel_at_period_end: string 'no', expected bool",
        "price.object: 'prices' is not one of 'price'",
        "price.recurring.usage_type: null",
    }
    for start in expected:
        assert any(violation.startswith(start) for violation in found), (start, found)


# How stripe-python's services call an endpoint: `self._request("get", "/v1/coupons/{coupon}"`.
_SDK_CALL = re.compile(r'self\._request(?:_async)?\(\s*"(get|post|delete)",\s*"(/v1/[^"]+)"')


def _any_id(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


def test_every_emulated_endpoint_is_one_stripe_python_calls() -> None:
    assert resources and extras  # every route registered
    sdk_endpoints = {
        (method.upper(), _any_id(path))
        for service in Path(stripe.__file__).parent.rglob("*_service.py")
        for method, path in _SDK_CALL.findall(service.read_text())
    }
    emulated = {
        (route.method, _any_id(route.template))
        for route in ROUTES.routes()
        if not route.public and route.template.startswith("/v1/")
    }

    assert ("GET", "/v1/promotion_codes/{}") in emulated
    assert ("DELETE", "/v1/coupons/{}") in emulated
    assert not emulated - sdk_endpoints, sorted(emulated - sdk_endpoints)
