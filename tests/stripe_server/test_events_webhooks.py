"""Events and signed webhook delivery to a real HTTP receiver."""

from __future__ import annotations

import time

import pytest
import stripe

from stripe_server.testing import LocalStripe


def _endpoint(sdk: stripe.StripeClient, url: str, events: list[str]) -> stripe.WebhookEndpoint:
    return sdk.v1.webhook_endpoints.create({"url": url, "enabled_events": events})


def test_deliveries_are_signed_as_stripe_signs(sdk: stripe.StripeClient, webhook_receiver) -> None:
    endpoint = _endpoint(sdk, webhook_receiver.url, ["customer.created"])
    assert endpoint.secret.startswith("whsec_")
    customer = sdk.v1.customers.create({"email": "signed@example.com"})
    webhook_receiver.wait_for(
        lambda events: any(e["data"]["object"]["id"] == customer.id for e in events)
    )
    for body, headers in webhook_receiver.received:
        event = stripe.Webhook.construct_event(
            body.decode(), headers["Stripe-Signature"], endpoint.secret
        )
        assert event.type == "customer.created"
        assert event.livemode is False
    sdk.v1.webhook_endpoints.delete(endpoint.id)


def test_enabled_events_filter_and_wildcard(sdk: stripe.StripeClient, webhook_receiver) -> None:
    everything = _endpoint(sdk, webhook_receiver.url, ["*"])
    product = sdk.v1.products.create({"name": "Filtered"})
    sdk.v1.products.update(product.id, {"name": "Renamed"})
    received = webhook_receiver.wait_for(
        lambda events: (
            {"product.created", "product.updated"}
            <= {e["type"] for e in events if e["data"]["object"]["id"] == product.id}
        )
    )
    updated = next(e for e in received if e["type"] == "product.updated")
    assert updated["data"]["previous_attributes"]["name"] == "Filtered"
    sdk.v1.webhook_endpoints.update(everything.id, {"enabled_events": ["price.created"]})
    sdk.v1.products.create({"name": "Not delivered"})
    sdk.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 1})
    received = webhook_receiver.wait_for(
        lambda events: any(e["type"] == "price.created" for e in events)
    )
    assert not any(e["data"]["object"].get("name") == "Not delivered" for e in received)
    sdk.v1.webhook_endpoints.delete(everything.id)


def _event_about(sdk: stripe.StripeClient, event_type: str, object_id: str) -> stripe.Event:
    """The event of that type about this object. Not simply the newest: other tests' test
    clocks may have dated theirs later than now."""
    listed = sdk.v1.events.list({"type": event_type, "limit": 100}).auto_paging_iter()
    found = next((event for event in listed if event.data.object.id == object_id), None)
    assert found is not None, f"no {event_type} event about {object_id}"
    return found


@pytest.mark.usefixtures("only_new_endpoints")
def test_failed_delivery_is_retried_and_tracked(sdk: stripe.StripeClient, webhook_receiver) -> None:
    webhook_receiver.answers = [500, 503]
    endpoint = _endpoint(sdk, webhook_receiver.url, ["customer.created"])
    customer = sdk.v1.customers.create({"email": "retry@example.com"})
    webhook_receiver.wait_for(lambda events: len(events) >= 3)
    event = _event_about(sdk, "customer.created", customer.id)
    deadline = time.monotonic() + 5
    while sdk.v1.events.retrieve(event.id).pending_webhooks and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sdk.v1.events.retrieve(event.id).pending_webhooks == 0
    delivered = sdk.v1.events.list({"delivery_success": True, "limit": 100}).auto_paging_iter()
    assert event.id in [e.id for e in delivered]
    sdk.v1.webhook_endpoints.delete(endpoint.id)


@pytest.mark.usefixtures("only_new_endpoints")
def test_failing_endpoint_leaves_event_pending_and_not_delivered(
    sdk: stripe.StripeClient, webhook_receiver
) -> None:
    webhook_receiver.answers = [500] * 10
    endpoint = _endpoint(sdk, webhook_receiver.url, ["customer.created"])
    customer = sdk.v1.customers.create({"email": "fails@example.com"})
    webhook_receiver.wait_for(lambda events: len(events) >= 1)
    event = _event_about(sdk, "customer.created", customer.id)
    assert event.pending_webhooks == 1
    undelivered = sdk.v1.events.list({"delivery_success": False, "limit": 100}).auto_paging_iter()
    assert event.id in [e.id for e in undelivered]
    sdk.v1.webhook_endpoints.delete(endpoint.id)


def test_event_list_filters_by_type_wildcard_types_and_created(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    # Other tests' test clocks may have made events dated later than now: look only at the
    # seconds this test runs in, by the server's clock.
    start = int(local_stripe.admin("GET", "/_local/clock")["now"])
    customer = sdk.v1.customers.create({"name": "Events"})
    sdk.v1.customers.update(customer.id, {"name": "Events 2"})
    during = {"gte": start, "lte": int(local_stripe.admin("GET", "/_local/clock")["now"])}
    wildcard = sdk.v1.events.list({"type": "customer.*", "created": during, "limit": 100}).data
    assert {"customer.created", "customer.updated"} <= {e.type for e in wildcard}
    assert all(e.type.startswith("customer.") for e in wildcard)
    only = sdk.v1.events.list({"types": ["customer.updated"], "created": during, "limit": 100}).data
    assert {e.type for e in only} == {"customer.updated"}
    newest = next(e for e in only if e.data.object.id == customer.id)
    assert newest.data.previous_attributes.name == "Events"
    later = sdk.v1.events.list({"created": {"gt": newest.created}}).data
    assert newest.id not in [e.id for e in later]
    assert sdk.v1.events.retrieve(newest.id).id == newest.id


def test_webhook_endpoint_secret_only_on_create_and_list_update_delete(
    sdk: stripe.StripeClient,
) -> None:
    endpoint = _endpoint(sdk, "http://127.0.0.1:9/hook", ["invoice.paid"])
    fetched = sdk.v1.webhook_endpoints.retrieve(endpoint.id)
    assert "secret" not in fetched
    disabled = sdk.v1.webhook_endpoints.update(endpoint.id, {"disabled": True})
    assert disabled.status == "disabled"
    assert endpoint.id in [e.id for e in sdk.v1.webhook_endpoints.list({"limit": 100})]
    assert sdk.v1.webhook_endpoints.delete(endpoint.id).deleted is True
