from __future__ import annotations

import json
import threading
import time

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from djstripe.models import Product

from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.services.receiving import webhook_event_store
from accounts.webhooks.signature import signature_compute, signature_header_build
from accounts.webhooks.views import stripe_webhook
from tests.accounts.webhooks.webhook_helpers import SECRET, WEBHOOK_URL, unique

pytestmark = pytest.mark.django_db


def an_event(**overrides) -> dict:
    event = {
        "id": "evt_endpoint_" + unique("x").split()[1],
        "object": "event",
        "type": "test.ping",
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-08-26.dahlia",
        "data": {"object": {"id": "obj_1", "object": "thing"}},
    }
    event.update(overrides)
    return event


def assert_refused(response, reason: str) -> None:
    assert response.status_code == 400, response.content
    assert reason in response.json()["error"]
    assert WebhookEvent.objects.count() == 0


def test_a_missing_signature_is_refused_and_nothing_stored(poster):
    assert_refused(poster.post(an_event(), sign=False), "Missing Stripe-Signature")


def test_a_signature_made_with_another_secret_is_refused(poster):
    body = json.dumps(an_event()).encode()
    header = signature_header_build(payload=body, secret="whsec_someoneelse")

    assert_refused(poster.post(body, header=header), "No v1 signature matches")


def test_a_signature_of_another_body_is_refused(poster):
    header = signature_header_build(payload=b'{"other": 1}', secret=SECRET)

    assert_refused(poster.post(an_event(), header=header), "No v1 signature matches")


def test_a_header_without_v1_or_timestamp_is_refused(poster):
    assert_refused(poster.post(an_event(), header="t=123"), "no v1 signature")
    assert_refused(poster.post(an_event(), header="v1=abc"), "no valid timestamp")
    assert_refused(poster.post(an_event(), header="garbage"), "no valid timestamp")


def test_a_stale_timestamp_is_refused(poster):
    response = poster.post(an_event(), timestamp=int(time.time()) - 301)

    assert_refused(response, "tolerance")


def test_a_timestamp_from_the_future_is_refused(poster):
    response = poster.post(an_event(), timestamp=int(time.time()) + 301)

    assert_refused(response, "in the future")


def test_a_timestamp_just_inside_the_tolerance_is_accepted(poster):
    response = poster.post(an_event(type="test.inside"), timestamp=int(time.time()) - 290)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().type == "test.inside"


def test_signed_malformed_json_is_refused(poster):
    assert_refused(poster.post(b'{"id": "evt_1", '), "not valid JSON")


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ({"object": "charge"}, '"object": "event"'),
        ({"id": "ch_123"}, '"id"'),
        ({"type": ""}, '"type"'),
        ({"created": "yesterday"}, '"created"'),
        ({"data": {"object": "nope"}}, '"data.object"'),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_refused(poster, broken, reason):
    assert_refused(poster.post(an_event(**broken)), reason)


def test_a_json_array_is_refused(poster):
    assert_refused(poster.post(b"[1, 2]"), "not a Stripe event")


def test_a_body_over_one_megabyte_is_refused_before_verification(poster):
    event = an_event(data={"object": {"id": "x", "object": "thing", "blob": "a" * 1_048_600}})

    assert_refused(poster.post(event), "larger than 1048576 bytes")


def test_get_is_not_allowed(client, webhook_secret):
    assert client.get(WEBHOOK_URL).status_code == 405
    assert WebhookEvent.objects.count() == 0


def test_without_a_configured_secret_the_endpoint_refuses_and_says_what_to_set(poster, settings):
    settings.DJSTRIPE_WEBHOOK_SECRET = ""

    response = poster.post(an_event())

    assert response.status_code == 503
    assert "DJSTRIPE_WEBHOOK_SECRET" in response.json()["error"]
    assert WebhookEvent.objects.count() == 0


def test_any_of_several_v1_signatures_is_accepted_during_secret_rotation(poster):
    body = json.dumps(an_event(type="test.rotated")).encode()
    now = int(time.time())
    old = signature_compute(payload=body, secret="whsec_oldsecret", timestamp=now)
    new = signature_compute(payload=body, secret=SECRET, timestamp=now)

    response = poster.post(body, header=f"t={now},v1={old},v1={new}")

    assert response.status_code == 200
    assert WebhookEvent.objects.get().type == "test.rotated"


def test_an_accepted_event_is_stored_and_acknowledged_with_its_id(poster):
    event = an_event(type="test.stored")

    response = poster.post(event)

    assert response.status_code == 200
    assert response.json() == {"received": True, "id": event["id"], "duplicate": False}
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert stored.payload == event
    assert stored.type == "test.stored"
    assert stored.source == WebhookEvent.Source.WEBHOOK


def test_without_a_broker_the_event_is_processed_once_the_acknowledgement_is_sent(
    rf, webhook_secret, stripe_settings
):
    event = an_event(type="test.after_sent")
    body = json.dumps(event).encode()
    request = rf.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header_build(payload=body, secret=SECRET),
    )

    response = stripe_webhook(request)

    # Answered, not processed yet: the server closes the response once it has sent it.
    assert response.status_code == 200
    assert WebhookEvent.objects.get(stripe_id=event["id"]).status == WebhookEvent.Status.RECEIVED
    # As Django's test client does: the end of the request must not close the connection that
    # holds the test's transaction.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert WebhookEvent.objects.get(stripe_id=event["id"]).status == WebhookEvent.Status.PROCESSED


def test_the_same_event_twice_is_stored_and_processed_once(poster, make_event):
    event = make_event(
        lambda client: client.v1.products.create(params={"name": unique("Twice")}),
        "product.created",
    )

    first = poster.post(event)
    second = poster.post(event)

    assert first.json()["duplicate"] is False
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert stored.status == WebhookEvent.Status.PROCESSED
    assert stored.attempts == 1
    assert Product.objects.filter(id=event["data"]["object"]["id"]).exists()


def test_the_endpoint_is_exempt_from_csrf(webhook_secret):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    body = json.dumps(an_event()).encode()

    response = strict.post(
        WEBHOOK_URL,
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header_build(payload=body, secret=SECRET),
    )

    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_event_store_one_row_without_errors():
    event = an_event(type="test.concurrent")
    results: list[bool] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def store() -> None:
        try:
            barrier.wait()
            results.append(webhook_event_store(payload=event)[1])
        except BaseException as error:
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == [False] * 5 + [True]
    assert WebhookEvent.objects.filter(stripe_id=event["id"]).count() == 1
