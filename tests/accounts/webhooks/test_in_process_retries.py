"""Without a worker or beat (the embedded default), failed events are still retried."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from djstripe.models import Event, Product

from accounts.webhooks import webhook_handler, webhook_handler_unregister
from accounts.webhooks.models import WebhookEvent
from tests.accounts.webhooks.webhook_helpers import unique

pytestmark = pytest.mark.django_db

Status = WebhookEvent.Status


def product_created(make_event) -> dict:
    return make_event(
        lambda client: client.v1.products.create(params={"name": unique("Retried")}),
        "product.created",
    )


def test_a_due_failed_event_is_retried_when_the_next_event_arrives(poster, make_event):
    failed = product_created(make_event)
    assert poster.post(failed).status_code == 200
    WebhookEvent.objects.filter(stripe_id=failed["id"]).update(
        status=Status.FAILED, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    # What a failed attempt leaves: its transaction, dj-stripe's writes included, rolled back.
    Event.objects.filter(id=failed["id"]).delete()
    Product.objects.filter(id=failed["data"]["object"]["id"]).delete()

    assert poster.post(product_created(make_event)).status_code == 200

    retried = WebhookEvent.objects.get(stripe_id=failed["id"])
    assert retried.status == Status.PROCESSED
    assert retried.attempts == 2
    assert Product.objects.filter(id=failed["data"]["object"]["id"]).exists()


def test_a_failed_event_waits_for_its_backoff(poster, make_event):
    failed = product_created(make_event)
    assert poster.post(failed).status_code == 200
    WebhookEvent.objects.filter(stripe_id=failed["id"]).update(
        status=Status.FAILED, next_attempt_at=timezone.now() + timedelta(minutes=5)
    )

    assert poster.post(product_created(make_event)).status_code == 200

    assert WebhookEvent.objects.get(stripe_id=failed["id"]).status == Status.FAILED


def test_a_lock_conflict_is_tried_again_at_once(poster, make_event):
    calls: list[str] = []

    @webhook_handler("product.created")
    def busy_once(event: WebhookEvent) -> None:
        calls.append(event.stripe_id)
        if len(calls) == 1:
            raise OperationalError("database is locked")

    try:
        event = product_created(make_event)
        assert poster.post(event).status_code == 200
    finally:
        webhook_handler_unregister(busy_once)

    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert (stored.status, stored.attempts) == (Status.PROCESSED, 1)
    assert calls == [event["id"], event["id"]]


def test_other_database_errors_fail_the_event_for_a_later_retry(poster, make_event):
    @webhook_handler("product.created")
    def broken(event: WebhookEvent) -> None:
        raise OperationalError("no such table: reports")

    try:
        event = product_created(make_event)
        assert poster.post(event).status_code == 200
    finally:
        webhook_handler_unregister(broken)

    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert stored.status == Status.FAILED
    assert "no such table" in stored.last_error
