"""Reads of the stored webhook events: what is due, what was processed, what is waiting, and
how healthy the pipeline is (the billing dashboard's webhook panel)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, QuerySet
from django.utils import timezone

from accounts.webhooks.app_settings import webhook_settings
from accounts.webhooks.models import WebhookEvent

Status = WebhookEvent.Status

# A received event younger than this is still on its way through a drain or the web process.
RECEIVED_GRACE_SECONDS = 60


def webhook_events_due(*, now: datetime | None = None) -> list[WebhookEvent]:
    """Events that should be processed now and are not, oldest first: received but never
    picked up, failed and due for a retry, or stuck in processing past the timeout."""
    now = now or timezone.now()
    grace = now - timedelta(seconds=RECEIVED_GRACE_SECONDS)
    stale = now - timedelta(seconds=webhook_settings.PROCESSING_TIMEOUT)
    return list(
        WebhookEvent.objects.filter(
            Q(status=Status.RECEIVED, received_at__lt=grace)
            | Q(status=Status.FAILED, next_attempt_at__lte=now)
            | Q(status=Status.PROCESSING, processing_started_at__lt=stale)
        ).order_by("stripe_created", "id")
    )


def webhook_events_received_pks(*, limit: int) -> list[int]:
    """The primary keys of up to `limit` received events, oldest first (what a drain takes)."""
    return list(
        WebhookEvent.objects.filter(status=Status.RECEIVED)
        .order_by("stripe_created", "id")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_event_status(*, event_pk: int) -> str | None:
    """The event's status, or None when there is no such event."""
    return WebhookEvent.objects.filter(pk=event_pk).values_list("status", flat=True).first()


def webhook_events_last_processed_created() -> datetime | None:
    """When Stripe created the newest event processed here (None before the first)."""
    return WebhookEvent.objects.filter(status=Status.PROCESSED).aggregate(
        last=Max("stripe_created")
    )["last"]


def webhook_events_processed_stripe_ids(*, stripe_ids: Iterable[str]) -> set[str]:
    """Which of these Stripe event ids are processed here."""
    return set(
        WebhookEvent.objects.filter(
            stripe_id__in=list(stripe_ids), status=Status.PROCESSED
        ).values_list("stripe_id", flat=True)
    )


def webhook_events_by_stripe_id(*, stripe_ids: Iterable[str]) -> dict[str, WebhookEvent]:
    """The stored events among these Stripe event ids, by id."""
    return {
        event.stripe_id: event
        for event in WebhookEvent.objects.filter(stripe_id__in=list(stripe_ids))
    }


# --- Health -----------------------------------------------------------------------------------

# The statuses of events not processed yet (a failed one may still be retried, or need a hand).
PENDING_STATUSES = (Status.RECEIVED, Status.PROCESSING, Status.FAILED)


@dataclass(frozen=True)
class WebhookHealth:
    """How the pipeline did with the events received since `since`, and what still waits."""

    since: datetime
    received: int
    processed: int
    failed: int
    # Received and not yet processed or failed (waiting for, or in, a worker).
    waiting: int
    # The oldest event received (at any time) and not processed yet.
    oldest_pending: WebhookEvent | None
    # From receipt to processed, over the events processed of those received since `since`
    # (nearest rank); None without any.
    lag_p50: timedelta | None
    lag_p95: timedelta | None


def _lag_percentile(events: QuerySet[WebhookEvent], *, count: int, percent: int) -> timedelta:
    """The lag at that percentile of `count` events (nearest rank), in one query."""
    rank = max(1, math.ceil(percent * count / 100))
    lag = ExpressionWrapper(F("processed_at") - F("received_at"), output_field=DurationField())
    return events.annotate(lag=lag).order_by("lag", "pk").values_list("lag", flat=True)[rank - 1]


def webhook_health(*, now: datetime | None = None, hours: int = 24) -> WebhookHealth:
    """Events received in the last `hours`: how many were processed, failed or wait; the
    processing lag's median and 95th percentile; and the oldest event still pending. At most
    four queries, whatever the number of events."""
    now = now or timezone.now()
    since = now - timedelta(hours=hours)
    recent = WebhookEvent.objects.filter(received_at__gte=since)
    counts = recent.aggregate(
        received=Count("pk"),
        processed=Count("pk", filter=Q(status=Status.PROCESSED)),
        failed=Count("pk", filter=Q(status=Status.FAILED)),
    )
    processed = recent.filter(status=Status.PROCESSED, processed_at__isnull=False)
    lags = (
        (
            _lag_percentile(processed, count=counts["processed"], percent=50),
            _lag_percentile(processed, count=counts["processed"], percent=95),
        )
        if counts["processed"]
        else (None, None)
    )
    oldest = (
        WebhookEvent.objects.filter(status__in=PENDING_STATUSES)
        .order_by("received_at", "pk")
        .defer("payload")
        .first()
    )
    return WebhookHealth(
        since=since,
        received=counts["received"],
        processed=counts["processed"],
        failed=counts["failed"],
        waiting=counts["received"] - counts["processed"] - counts["failed"],
        oldest_pending=oldest,
        lag_p50=lags[0],
        lag_p95=lags[1],
    )
