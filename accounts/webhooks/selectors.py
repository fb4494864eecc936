"""Reads of the stored webhook events: what is due, what was processed, what is waiting."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db.models import Max, Q
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
