"""Processing: one stored event, by one worker at a time; drain the received, retry the due.

An event goes `received` → `processing` → `processed`, or `failed` (with `last_error` and
`next_attempt_at`) and back to `processing` when retried. Claiming an event is one conditional
UPDATE, so two workers (or a worker and a replay) never process the same event at once, on any
database, without holding row locks while Stripe is called.
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.webhooks.app_settings import webhook_settings
from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.registry import webhook_handlers_for
from accounts.webhooks.selectors import (
    webhook_event_status,
    webhook_events_due,
    webhook_events_received_pks,
)

logger = logging.getLogger(__name__)

Status = WebhookEvent.Status
Progress = Callable[[str], None]

# Who processed an event when no Celery worker did (`processed_by`).
IN_PROCESS = "in-process"
# A drain takes the received events in batches, and at most this many before it hands over to
# the next drain, so that one task never runs for long.
DRAIN_BATCH = 100
DRAIN_LIMIT = 1000


@dataclass(frozen=True)
class ProcessOutcome:
    """What one processing attempt did; `retry_in` is set when a failed event will be retried."""

    status: str
    retry_in: int | None = None
    error: str = ""

    @property
    def result(self) -> str:
        """How commands count it: "processed", "failed", or "skipped" (another worker had it,
        or it was processed already)."""
        return self.status if self.status in (Status.PROCESSED, Status.FAILED) else "skipped"


def _retry_delay(attempts: int) -> int:
    delay = webhook_settings.RETRY_BACKOFF * 2 ** max(0, attempts - 1)
    return int(min(delay, webhook_settings.RETRY_BACKOFF_MAX))


def webhook_event_claim(*, event_pk: int, force: bool = False, worker: str = "") -> bool:
    """Mark the event processing if nobody else has it; True when this caller got it.

    A received or failed event can be claimed; so can one stuck in processing past
    `PORTAL_WEBHOOK_PROCESSING_TIMEOUT` (its worker died); `force` also re-claims a processed
    one (replay).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=webhook_settings.PROCESSING_TIMEOUT)
    claimable = Q(status__in=[Status.RECEIVED, Status.FAILED]) | Q(
        status=Status.PROCESSING, processing_started_at__lt=stale
    )
    if force:
        claimable |= Q(status=Status.PROCESSED)
    claimed = (
        WebhookEvent.objects.filter(claimable, pk=event_pk).update(
            status=Status.PROCESSING,
            attempts=F("attempts") + 1,
            processing_started_at=now,
            next_attempt_at=None,
            processed_by=worker[:255],
        )
        == 1
    )
    return claimed


def _djstripe_sync(event: WebhookEvent, *, force: bool) -> None:
    """Let dj-stripe record the event and sync its objects (re-retrieved from Stripe)."""
    from djstripe.models import Event as StripeEvent
    from djstripe.settings import djstripe_settings

    api_key = djstripe_settings.get_default_api_key(event.livemode)
    already = StripeEvent.objects.filter(id=event.stripe_id).exists()
    stripe_event = StripeEvent.process(data=event.payload, api_key=api_key)
    if already and force:
        # dj-stripe skips events it has seen; a replay means "sync these objects again".
        stripe_event.invoke_webhook_handlers()
    if event.type.endswith(".deleted"):
        _deleted_object_settle(event)


def _deleted_object_settle(event: WebhookEvent) -> None:
    """Make sure an object Stripe deleted is gone (or canceled) locally, even when the
    re-retrieve that dj-stripe relies on can no longer find it."""
    from djstripe import models as djstripe_models

    data = event.data_object
    object_id = data.get("id")
    if event.type == "customer.subscription.deleted" and object_id:
        subscription = djstripe_models.Subscription.objects.filter(id=object_id).first()
        if subscription is not None and subscription.status != "canceled":
            djstripe_models.Subscription.sync_from_stripe_data(data)
        return
    model = {
        "product": djstripe_models.Product,
        "price": djstripe_models.Price,
    }.get(str(data.get("object")))
    if model is not None and object_id:
        model.objects.filter(id=object_id).delete()


# Two events about one customer processed at once (threads, workers) can deadlock on
# PostgreSQL, or find SQLite busy: the database aborts one, which is worth trying again now.
LOCK_CONFLICT_RETRIES = 3
_LOCK_CONFLICT_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


def _is_lock_conflict(error: OperationalError) -> bool:
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    return sqlstate in _LOCK_CONFLICT_SQLSTATES or "database is locked" in str(error)


def _process_retrying_lock_conflicts(event: WebhookEvent, *, force: bool) -> None:
    """dj-stripe's sync, the handlers and the processed mark, in one transaction; a lock
    conflict rolls it back and it runs again, a few times, after a short random pause."""
    attempt = 0
    while True:
        attempt += 1
        try:
            with transaction.atomic():
                _djstripe_sync(event, force=force)
                for handler in webhook_handlers_for(event.type):
                    handler(event)
                WebhookEvent.objects.filter(pk=event.pk).update(
                    status=Status.PROCESSED, processed_at=timezone.now(), last_error=""
                )
            return
        except OperationalError as error:
            if attempt > LOCK_CONFLICT_RETRIES or not _is_lock_conflict(error):
                raise
            logger.info("Webhook event %s met a lock conflict; trying again", event.stripe_id)
            time.sleep(random.uniform(0.05, 0.25) * attempt)  # noqa: S311 - jitter, not secrets


def webhook_event_process(
    *, event_pk: int, force: bool = False, worker: str = IN_PROCESS
) -> ProcessOutcome:
    """Process one stored event: dj-stripe's sync, then the registered handlers.

    Runs at most once at a time per event (see `webhook_event_claim`); an event already
    processed is skipped unless `force`. A failure is recorded on the event (status failed,
    `last_error`, `next_attempt_at` with exponential backoff) and returned, never raised, so
    other events go on.
    """
    if not webhook_event_claim(event_pk=event_pk, force=force, worker=worker):
        return ProcessOutcome(status=webhook_event_status(event_pk=event_pk) or "missing")
    event = WebhookEvent.objects.get(pk=event_pk)
    try:
        _process_retrying_lock_conflicts(event, force=force)
    except Exception as error:
        detail = "".join(traceback.format_exception(error, limit=-6))
        will_retry = event.attempts < webhook_settings.MAX_ATTEMPTS
        retry_in = _retry_delay(event.attempts) if will_retry else None
        WebhookEvent.objects.filter(pk=event.pk).update(
            status=Status.FAILED,
            last_error=f"{type(error).__name__}: {error}\n\n{detail}"[:20000],
            next_attempt_at=(
                timezone.now() + timedelta(seconds=retry_in) if retry_in is not None else None
            ),
        )
        logger.warning(
            "Webhook event %s (%s) failed on attempt %d: %s; %s",
            event.stripe_id,
            event.type,
            event.attempts,
            error,
            f"retrying in {retry_in} s" if retry_in is not None else "giving up",
        )
        return ProcessOutcome(status=Status.FAILED, retry_in=retry_in, error=str(error))
    return ProcessOutcome(status=Status.PROCESSED)


def webhook_event_backoff_clear(*, event_pk: int) -> None:
    """Take a failed event off its backoff: it is being processed again by hand, now."""
    WebhookEvent.objects.filter(pk=event_pk, status=Status.FAILED).update(next_attempt_at=None)


def webhook_events_drain(
    *, worker: str, retry_later: Callable[[int, int], None], limit: int = DRAIN_LIMIT
) -> tuple[int, bool]:
    """Process received events, oldest first, until none is left or `limit` have been taken;
    how many were taken, and whether some may be left.

    Drains running at once share the work: each event is claimed by one. A failed event is
    handed to `retry_later(event_pk, seconds)`.
    """
    taken = 0
    while taken < limit:
        batch = webhook_events_received_pks(limit=min(DRAIN_BATCH, limit - taken))
        if not batch:
            return taken, False
        for event_pk in batch:
            outcome = webhook_event_process(event_pk=event_pk, worker=worker)
            if outcome.retry_in is not None:
                retry_later(event_pk, outcome.retry_in)
        taken += len(batch)
    return taken, True


def webhook_events_due_process(
    *, limit: int | None = None, progress: Progress | None = None
) -> dict[str, int]:
    """Process the events that are due (see `webhook_events_due`), oldest first; how many were
    processed, failed and skipped."""
    say = progress or (lambda message: None)
    due = webhook_events_due()[:limit]
    say(f"Processing {len(due)} due events")
    counts = {"processed": 0, "failed": 0, "skipped": 0}
    for number, event in enumerate(due, start=1):
        outcome = webhook_event_process(event_pk=event.pk)
        counts[outcome.result] += 1
        say(f"  {number}/{len(due)} {event.stripe_id}: {outcome.status}")
    return counts
