"""Bad webhook deliveries that `tests/accounts/webhooks/test_webhook_endpoint.py` does not cover:
a wrong content type, an undecodable body, a lying Content-Length, event types Portal has no
handler for, events about customers Portal does not know, and JSON nested too deeply (on
dj-stripe's endpoint too). Each gets the status Stripe expects (4xx with a reason for what
Stripe would never send, 200 for a well-signed event), never a 500, and nothing is stored or
linked that should not be."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from djstripe.models import Customer, Subscription, WebhookEventTrigger

from accounts.models import User
from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.signature import signature_header_build
from portal.stripe_client import stripe_client
from stripe_server.webhooks import signature_header
from tests.accounts.webhooks.webhook_helpers import SECRET, WEBHOOK_URL, events_since, server_now
from tests.stripe_server.test_djstripe_compat import DjstripeEndpoint

pytestmark = pytest.mark.django_db


def an_event(**overrides) -> dict:
    event = {
        "id": f"evt_hardening_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": "test.ping",
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-08-26.dahlia",
        "data": {"object": {"id": "obj_1", "object": "thing"}},
    }
    event.update(overrides)
    return event


def signed_post(client, body: bytes, *, content_type: str = "application/json", **extra):
    header = signature_header_build(payload=body, secret=SECRET)
    return client.generic(
        "POST",
        WEBHOOK_URL,
        data=body,
        content_type=content_type,
        HTTP_STRIPE_SIGNATURE=header,
        **extra,
    )


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"],
)
def test_a_form_body_under_another_content_type_is_refused_and_nothing_stored(
    client, webhook_secret, content_type
):
    # What a misconfigured sender posts: the event as form fields, not JSON.
    body = b"id=evt_123&object=event&type=customer.created"

    response = signed_post(client, body, content_type=content_type)

    assert response.status_code == 400, response.content
    assert "not valid JSON" in response.json()["error"]
    assert WebhookEvent.objects.count() == 0


def test_the_signature_not_the_content_type_decides_whether_an_event_is_stored(
    client, webhook_secret, stripe_settings
):
    # A signed event is Stripe's whatever header a proxy rewrote; refusing it would make
    # Stripe retry it for days.
    body = json.dumps(an_event()).encode()

    response = signed_post(client, body, content_type="text/plain")

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_json_with_a_charset_is_accepted_as_stripe_sends_it(
    client, webhook_secret, stripe_settings
):
    body = json.dumps(an_event()).encode()

    response = signed_post(client, body, content_type="application/json; charset=utf-8")

    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1


def test_a_signed_body_that_is_not_utf8_is_refused_with_a_reason(client, webhook_secret):
    response = signed_post(client, b'{"id": "\xff\xfe"}')

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
    assert WebhookEvent.objects.count() == 0


def test_a_content_length_that_is_not_a_number_is_no_500(client, webhook_secret, stripe_settings):
    body = json.dumps(an_event()).encode()

    response = signed_post(client, body, CONTENT_LENGTH="lots")

    assert response.status_code in (200, 400)
    assert response.status_code != 500


@pytest.mark.parametrize(
    "header",
    [
        "t=" + "9" * 400 + ",v1=ab",  # a timestamp far past any clock
        "t=" + "9" * 5000 + ",v1=ab",  # more digits than Python converts to an int
        "t=-5,v1=ab",
        "t=1,t=2,v1=ab",
        "," * 5000,
        "t=1," + ",".join(["v1=" + "a" * 64] * 2000),
        "t=\u0661\u0662\u0663,v1=ab",  # Arabic-Indic digits: isdigit() but not a timestamp
    ],
)
def test_hostile_signature_headers_are_refused_with_a_reason(client, webhook_secret, header):
    body = json.dumps(an_event()).encode()

    response = client.post(
        WEBHOOK_URL, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )

    assert response.status_code == 400, response.content
    assert response.json()["error"]
    assert WebhookEvent.objects.count() == 0


def test_an_event_type_portal_has_no_handler_for_is_acknowledged_and_processed(
    poster, stripe_settings
):
    event = an_event(type="portal.hardening.unheard_of")

    response = poster.post(event)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    # Stripe retries anything but a 2xx: an unknown type is acknowledged and settled, not
    # left to fail forever.
    assert stored.status == WebhookEvent.Status.PROCESSED, stored.last_error


def test_a_subscription_of_a_customer_no_holder_has_links_nobody(poster, stripe_settings, user):
    client = stripe_client()
    since = server_now(stripe_settings)
    price = client.v1.prices.create(
        params={
            "currency": "usd",
            "unit_amount": 700,
            "recurring": {"interval": "month"},
            "product_data": {"name": f"Elsewhere {uuid.uuid4().hex[:6]}"},
        }
    )
    customer = client.v1.customers.create(params={"email": "someone@elsewhere.example"})
    subscription = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    [created] = [
        event
        for event in events_since(since, object_ids={subscription.id})
        if event["type"] == "customer.subscription.created"
    ]

    response = poster.post(created)

    assert response.status_code == 200
    stored = WebhookEvent.objects.get(stripe_id=created["id"])
    assert stored.status == WebhookEvent.Status.PROCESSED, stored.last_error
    # dj-stripe keeps Stripe's copy; no Portal account is linked to it.
    assert Subscription.objects.filter(id=subscription.id).exists()
    assert not User.objects.filter(customer__id=customer.id).exists()
    assert not User.objects.filter(subscription__id=subscription.id).exists()
    user.refresh_from_db()
    assert user.subscription is None


def test_an_event_about_a_customer_stripe_does_not_have_fails_cleanly(poster, stripe_settings):
    ghost = f"cus_ghost{uuid.uuid4().hex[:12]}"
    event = an_event(
        type="customer.updated",
        data={"object": {"id": ghost, "object": "customer", "email": "ghost@example.com"}},
    )

    response = poster.post(event)

    # Acknowledged (the signature is good), then processing fails and is recorded for a retry,
    # without inventing the customer.
    assert response.status_code == 200
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert stored.status == WebhookEvent.Status.FAILED
    assert ghost in stored.last_error or "No such customer" in stored.last_error
    assert not Customer.objects.filter(id=ghost).exists()


# --- Deeply nested JSON ------------------------------------------------------------------------


def nested(depth: int) -> bytes:
    """A signed-able event whose data object nests `depth` arrays deep."""
    return (
        b'{"id": "evt_deep", "object": "event", "data": {"object": '
        + (b"[" * depth + b"]" * depth)
        + b"}}"
    )


@pytest.mark.parametrize("depth", [20_000, 100])
def test_a_signed_body_nested_too_deeply_is_refused_with_a_reason(client, webhook_secret, depth):
    # 20,000 levels is past Python's recursion limit; 100 parses, but no Stripe event nests so.
    response = signed_post(client, nested(depth))

    assert response.status_code == 400, response.content
    assert "nests deeper than 64 levels" in response.json()["error"]
    assert WebhookEvent.objects.count() == 0


def test_a_real_event_with_expanded_objects_is_not_too_deep(client, webhook_secret, sdk):
    """The depth limit leaves room for what Stripe sends: a subscription event, its items,
    their prices and tiers, posted as the server delivers it."""
    product = sdk.v1.products.create({"name": f"Deep {uuid.uuid4().hex[:6]}"})
    tiers = [{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}]
    price = sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "recurring": {"interval": "month"},
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": tiers,
        }
    )
    customer = sdk.v1.customers.create({"email": "deep@example.com"})
    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": 3}],
            "payment_behavior": "default_incomplete",
        }
    )
    events = sdk.v1.events.list({"type": "customer.subscription.created", "limit": 100})
    event = next(e for e in events.data if e.data.object["id"] == subscription.id)

    response = signed_post(client, json.dumps(event.to_dict(), default=str).encode())

    assert response.status_code == 200, response.content


def test_djstripes_endpoint_refuses_a_signed_body_nested_too_deeply(client, stripe_settings, sdk):
    endpoint = DjstripeEndpoint.made(sdk, stripe_settings)
    body = nested(20_000)
    signature = signature_header(body, endpoint.secret, int(time.time()))

    response = client.post(
        endpoint.url, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )

    assert response.status_code == 400
    assert "nests deeper than 64 levels" in response.json()["error"]
    assert not WebhookEventTrigger.objects.filter(body__contains="evt_deep").exists()
