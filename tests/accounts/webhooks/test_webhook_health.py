"""The webhook pipeline's health over the last 24 hours: counts, processing lag percentiles
(nearest rank, worked out here) and the oldest event still pending."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.selectors import webhook_health

pytestmark = pytest.mark.django_db

Status = WebhookEvent.Status


def event(*, received_ago: timedelta, status: str, lag: timedelta | None = None) -> WebhookEvent:
    received = timezone.now() - received_ago
    return WebhookEvent.objects.create(
        stripe_id=f"evt_{uuid.uuid4().hex}",
        type="invoice.paid",
        payload={},
        stripe_created=received,
        received_at=received,
        status=status,
        processed_at=received + lag if lag is not None else None,
    )


def test_counts_lags_and_the_oldest_pending_event(django_assert_max_num_queries) -> None:
    hour = timedelta(hours=1)
    for seconds in (3, 1, 10, 2):
        event(received_ago=2 * hour, status=Status.PROCESSED, lag=timedelta(seconds=seconds))
    event(received_ago=3 * hour, status=Status.FAILED)
    event(received_ago=hour, status=Status.RECEIVED)
    # Older than 24 hours: not counted, but the oldest still pending is one of them.
    event(received_ago=30 * hour, status=Status.PROCESSED, lag=timedelta(hours=5))
    oldest = event(received_ago=26 * hour, status=Status.FAILED)

    with django_assert_max_num_queries(4):
        health = webhook_health()

    assert (health.received, health.processed, health.failed, health.waiting) == (6, 4, 1, 1)
    # Lags 1, 2, 3, 10 s: the median is the 2nd (ceil(0.5 x 4)), the 95th the 4th (ceil(3.8)).
    assert health.lag_p50 == timedelta(seconds=2)
    assert health.lag_p95 == timedelta(seconds=10)
    assert health.oldest_pending == oldest


def test_with_no_events_there_is_nothing_to_measure() -> None:
    health = webhook_health()

    assert (health.received, health.processed, health.failed, health.waiting) == (0, 0, 0, 0)
    assert health.lag_p50 is None and health.lag_p95 is None
    assert health.oldest_pending is None
