"""With a broker, drain tasks process the received events: every one, oldest first, once."""

from __future__ import annotations

import pytest
from djstripe.models import Product

from accounts.webhooks import webhook_handler, webhook_handler_unregister
from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.services.processing import webhook_events_drain
from accounts.webhooks.services.receiving import webhook_event_store
from tests.accounts.webhooks.webhook_helpers import unique

pytestmark = pytest.mark.django_db

Status = WebhookEvent.Status


@pytest.fixture
def received(make_event):
    """Store product.created events as the endpoint does, `created` seconds apart as given."""

    def store(*offsets: int) -> list[dict]:
        events = []
        for offset in offsets:
            event = make_event(
                lambda client: client.v1.products.create(params={"name": unique("Drained")}),
                "product.created",
            )
            event = {**event, "created": event["created"] + offset}
            webhook_event_store(payload=event)
            events.append(event)
        return events

    return store


@pytest.fixture
def handled():
    """The ids of the product.created events processed, in order."""
    order: list[str] = []

    @webhook_handler("product.created")
    def record(event: WebhookEvent) -> None:
        order.append(event.stripe_id)

    yield order
    webhook_handler_unregister(record)


def test_a_drain_processes_every_received_event_oldest_first(received, handled):
    newest, oldest, middle = received(20, -20, 0)
    retried: list[tuple[int, int]] = []

    taken, more = webhook_events_drain(
        worker="drain-test", retry_later=lambda pk, seconds: retried.append((pk, seconds))
    )

    assert (taken, more) == (3, False)
    assert handled == [oldest["id"], middle["id"], newest["id"]]
    for event in (oldest, middle, newest):
        stored = WebhookEvent.objects.get(stripe_id=event["id"])
        assert (stored.status, stored.processed_by) == (Status.PROCESSED, "drain-test")
        assert Product.objects.filter(id=event["data"]["object"]["id"]).exists()
    assert retried == []
    assert webhook_events_drain(worker="drain-test", retry_later=retried.append) == (0, False)


def test_a_failed_event_is_handed_on_for_its_retry_and_the_rest_go_on(received, handled):
    failing, fine = received(-10, 0)

    @webhook_handler("product.created")
    def refuse(event: WebhookEvent) -> None:
        if event.stripe_id == failing["id"]:
            raise RuntimeError("the handler is down")

    retried: list[tuple[int, int]] = []
    try:
        webhook_events_drain(
            worker="drain-test", retry_later=lambda pk, seconds: retried.append((pk, seconds))
        )
    finally:
        webhook_handler_unregister(refuse)

    failed = WebhookEvent.objects.get(stripe_id=failing["id"])
    assert failed.status == Status.FAILED and "the handler is down" in failed.last_error
    assert [pk for pk, _ in retried] == [failed.pk] and retried[0][1] > 0
    assert WebhookEvent.objects.get(stripe_id=fine["id"]).status == Status.PROCESSED


def test_a_drain_stops_at_its_limit_and_says_more_are_left(received, handled):
    first, second, third = received(-2, -1, 0)

    assert webhook_events_drain(worker="drain-test", retry_later=print, limit=2) == (2, True)

    assert handled == [first["id"], second["id"]]
    assert WebhookEvent.objects.get(stripe_id=third["id"]).status == Status.RECEIVED
