"""Writes of the webhook pipeline: store an event, process it once, reconcile with Stripe.

An event goes `received` → `processing` → `processed`, or `failed` (with `last_error` and
`next_attempt_at`) and back to `processing` when retried. Claiming an event is one conditional
UPDATE, so two workers (or a worker and a replay) never process the same event at once, on any
database, without holding row locks while Stripe is called.
"""

from __future__ import annotations

import json
import logging
import random
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.mail import mail_admins
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from accounts.webhooks.app_settings import webhook_settings
from accounts.webhooks.handlers import webhook_handlers_for
from accounts.webhooks.models import WebhookEvent
from portal.stripe_client import stripe_client, translate_stripe_errors

logger = logging.getLogger(__name__)

Status = WebhookEvent.Status
Progress = Callable[[str], None]

IN_PROCESS = "in-process"
# With a broker, received events are processed by "drain" tasks, each taking every received
# event in turn (`accounts.webhooks.scheduling` decides when one runs).
DRAIN_BATCH = 100
DRAIN_LIMIT = 1000


class MalformedEventError(ValueError):
    """The body is not a Stripe event (bad JSON, or an object without the event fields)."""


# --- Receiving --------------------------------------------------------------------------------


def webhook_event_parse(*, body: bytes) -> dict[str, Any]:
    """The event in a webhook body, checked for the fields Portal relies on."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedEventError(f"The body is not valid JSON: {error}.") from None
    if not isinstance(payload, dict) or payload.get("object") != "event":
        raise MalformedEventError('The body is not a Stripe event (no "object": "event").')
    event_id = payload.get("id")
    if not isinstance(event_id, str) or not event_id.startswith("evt_") or len(event_id) > 255:
        raise MalformedEventError('The event has no valid "id" (evt_...).')
    if not isinstance(payload.get("type"), str) or not payload["type"]:
        raise MalformedEventError('The event has no "type".')
    if not isinstance(payload.get("created"), int):
        raise MalformedEventError('The event has no "created" timestamp.')
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEventError('The event has no "data.object".')
    return payload


def webhook_event_store(
    *, payload: dict[str, Any], source: str = WebhookEvent.Source.WEBHOOK
) -> tuple[WebhookEvent, bool]:
    """Store the event unless it is already stored; return it and whether it is new.

    Safe under concurrent duplicates: the unique `stripe_id` decides, and the loser of the race
    gets the winner's row. Inserts first: a new event (nearly every one) costs one statement.
    """
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                stripe_id=payload["id"],
                type=payload["type"][:255],
                livemode=bool(payload.get("livemode")),
                api_version=str(payload.get("api_version") or "")[:64],
                payload=payload,
                stripe_created=datetime.fromtimestamp(payload["created"], tz=UTC),
                source=source,
            )
    except IntegrityError:
        return WebhookEvent.objects.get(stripe_id=payload["id"]), False
    return event, True


# --- Processing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessOutcome:
    """What one processing attempt did; `retry_in` is set when a failed event will be retried."""

    status: str
    retry_in: int | None = None
    error: str = ""


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
        status = WebhookEvent.objects.filter(pk=event_pk).values_list("status", flat=True).first()
        return ProcessOutcome(status=status or "missing")
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
        batch = list(
            WebhookEvent.objects.filter(status=Status.RECEIVED)
            .order_by("stripe_created", "id")
            .values_list("pk", flat=True)[: min(DRAIN_BATCH, limit - taken)]
        )
        if not batch:
            return taken, False
        for event_pk in batch:
            outcome = webhook_event_process(event_pk=event_pk, worker=worker)
            if outcome.retry_in is not None:
                retry_later(event_pk, outcome.retry_in)
        taken += len(batch)
    return taken, True


def webhook_event_backoff_clear(*, event_pk: int) -> None:
    """Take a failed event off its backoff: it is being processed again by hand, now."""
    WebhookEvent.objects.filter(pk=event_pk, status=Status.FAILED).update(next_attempt_at=None)


def webhook_events_due(*, now: datetime | None = None) -> list[WebhookEvent]:
    """Events that should be processed now and are not: received but never picked up, failed
    and due for a retry, or stuck in processing past the timeout."""
    now = now or timezone.now()
    grace = now - timedelta(seconds=60)
    stale = now - timedelta(seconds=webhook_settings.PROCESSING_TIMEOUT)
    return list(
        WebhookEvent.objects.filter(
            Q(status=Status.RECEIVED, received_at__lt=grace)
            | Q(status=Status.FAILED, next_attempt_at__lte=now)
            | Q(status=Status.PROCESSING, processing_started_at__lt=stale)
        ).order_by("stripe_created", "id")
    )


def webhook_events_due_process(*, limit: int | None = None) -> int:
    """Process the events that are due (see `webhook_events_due`), oldest first; their count."""
    due = webhook_events_due()[:limit]
    for event in due:
        webhook_event_process(event_pk=event.pk)
    return len(due)


# --- Reconciliation and replay ------------------------------------------------------------------


@dataclass
class ReconcileReport:
    """What `webhook_events_reconcile` found and did."""

    checked: int = 0
    pending: list[str] = field(default_factory=list)
    processed: int = 0
    failed: list[str] = field(default_factory=list)
    retried_local: int = 0

    @property
    def pending_count(self) -> int:
        return len(self.pending)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        # The SDK turns `*_decimal` strings into Decimals; on the wire they are strings.
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def stripe_event_payload(event: Any) -> dict[str, Any]:
    """An SDK event as the plain JSON a webhook delivers."""
    return json.loads(json.dumps(event.to_dict(), default=_json_default))


def _stripe_events(params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every event Stripe lists for `params`, oldest page last (Stripe lists newest first)."""
    client = stripe_client()
    with translate_stripe_errors("list events"):
        page = client.v1.events.list(params={"limit": 100, **params})
        while True:
            for event in page.data:
                yield stripe_event_payload(event)
            if not page.has_more or not page.data:
                break
            page = client.v1.events.list(
                params={"limit": 100, **params, "starting_after": page.data[-1].id}
            )


def _last_processed_created() -> datetime | None:
    return WebhookEvent.objects.filter(status=Status.PROCESSED).aggregate(
        last=Max("stripe_created")
    )["last"]


def webhook_events_reconcile(
    *,
    since: datetime | None = None,
    threshold: int | None = None,
    progress: Progress | None = None,
) -> ReconcileReport:
    """Ask Stripe for what we may have missed, and process it; then retry local events due.

    Pending events are those Stripe lists as not delivered (`delivery_success=false`) or
    created since the last one processed here, that are not processed here yet. Missing ones are
    stored (source "reconcile") and processed in the order Stripe created them. `since` bounds
    both queries (default: `PORTAL_WEBHOOK_RECONCILE_WINDOW` back, or the last processed
    event). When more than `threshold` (default `STRIPE_PENDING_WEBHOOKS_THRESHOLD`) were
    pending, the admins are mailed.
    """
    say = progress or (lambda message: None)
    threshold = webhook_settings.PENDING_THRESHOLD if threshold is None else threshold
    window_start = since or timezone.now() - timedelta(seconds=webhook_settings.RECONCILE_WINDOW)
    last_processed = _last_processed_created()
    newer_than = since or last_processed or window_start
    report = ReconcileReport()

    say(f"Asking Stripe for undelivered events since {window_start:%Y-%m-%d %H:%M:%S}Z")
    candidates: dict[str, dict[str, Any]] = {}
    for payload in _stripe_events(
        {"delivery_success": False, "created": {"gte": int(window_start.timestamp())}}
    ):
        candidates[payload["id"]] = payload
    say(f"Asking Stripe for events since {newer_than:%Y-%m-%d %H:%M:%S}Z")
    for payload in _stripe_events({"created": {"gte": int(newer_than.timestamp())}}):
        candidates.setdefault(payload["id"], payload)
    report.checked = len(candidates)

    done = set(
        WebhookEvent.objects.filter(
            stripe_id__in=list(candidates), status=Status.PROCESSED
        ).values_list("stripe_id", flat=True)
    )
    # Stripe lists newest first; reversed and stably sorted, that is the order it created them.
    missing = sorted(
        reversed([payload for event_id, payload in candidates.items() if event_id not in done]),
        key=lambda payload: payload["created"],
    )
    report.pending = [payload["id"] for payload in missing]
    say(f"{report.checked} events checked, {report.pending_count} not processed here")

    for number, payload in enumerate(missing, start=1):
        event, _ = webhook_event_store(payload=payload, source=WebhookEvent.Source.RECONCILE)
        outcome = webhook_event_process(event_pk=event.pk)
        if outcome.status == Status.PROCESSED:
            report.processed += 1
        elif outcome.status == Status.FAILED:
            report.failed.append(payload["id"])
        if number % 50 == 0 or number == len(missing):
            say(f"  processed {number}/{len(missing)}")

    due = [event for event in webhook_events_due() if event.stripe_id not in candidates]
    if due:
        say(f"Retrying {len(due)} stored events that are due")
    for event in due:
        if webhook_event_process(event_pk=event.pk).status == Status.PROCESSED:
            report.retried_local += 1

    if report.pending_count > threshold:
        webhook_pending_mail_admins(report=report, threshold=threshold)
    return report


def webhook_pending_mail_admins(*, report: ReconcileReport, threshold: int) -> None:
    """Tell the admins that webhooks are not arriving (more pending than the threshold)."""
    shown = "\n".join(f"  {event_id}" for event_id in report.pending[:50])
    more = report.pending_count - min(report.pending_count, 50)
    mail_admins(
        f"{report.pending_count} Stripe webhook events were pending",
        (
            f"Reconciliation found {report.pending_count} Stripe events that had not been "
            f"processed (the threshold is {threshold}). It processed {report.processed} of "
            f"them; {len(report.failed)} failed.\n\n"
            "Webhooks are probably not reaching /stripe/webhook/: check the endpoint's URL and "
            "DJSTRIPE_WEBHOOK_SECRET in Stripe's Dashboard, and that the site is reachable.\n\n"
            f"{shown}" + (f"\n  ... and {more} more" if more else "") + "\n"
        ),
    )


def webhook_events_replay(
    *,
    since: datetime | None = None,
    ids: list[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Process events again, even those already processed: by Stripe id, or all Stripe created
    since a time. Events Portal never stored are fetched from Stripe first. Returns counts."""
    say = progress or (lambda message: None)
    payloads: list[dict[str, Any]] = []
    if ids:
        stored = {
            event.stripe_id: event for event in WebhookEvent.objects.filter(stripe_id__in=ids)
        }
        client = stripe_client()
        for event_id in ids:
            if event_id in stored:
                payloads.append(stored[event_id].payload)
                continue
            with translate_stripe_errors(f"fetch event {event_id}"):
                payloads.append(stripe_event_payload(client.v1.events.retrieve(event_id)))
    if since is not None:
        say(f"Asking Stripe for events since {since:%Y-%m-%d %H:%M:%S}Z")
        payloads.extend(_stripe_events({"created": {"gte": int(since.timestamp())}}))
    unique = {payload["id"]: payload for payload in payloads}
    ordered = sorted(reversed(list(unique.values())), key=lambda payload: payload["created"])
    say(f"Replaying {len(ordered)} events")
    counts = {"processed": 0, "failed": 0, "skipped": 0}
    for number, payload in enumerate(ordered, start=1):
        event, _ = webhook_event_store(payload=payload, source=WebhookEvent.Source.REPLAY)
        outcome = webhook_event_process(event_pk=event.pk, force=True)
        key = outcome.status if outcome.status in ("processed", "failed") else "skipped"
        counts[key] += 1
        if number % 50 == 0 or number == len(ordered):
            say(f"  {number}/{len(ordered)} ({counts['failed']} failed)")
    return counts


# --- The endpoint at Stripe -------------------------------------------------------------------


def webhook_endpoint_ensure(*, url: str, replace: bool = False) -> tuple[str, str | None, bool]:
    """Make sure Stripe delivers every event to `url`; return (endpoint id, secret, created).

    Stripe shows an endpoint's secret only when it is created, so for an endpoint that already
    exists the secret is None; `replace` deletes the endpoints at `url` and creates a new one,
    whose secret is returned (what `make run` does on each start).
    """
    client = stripe_client()
    with translate_stripe_errors("list webhook endpoints"):
        existing = [
            endpoint
            for endpoint in client.v1.webhook_endpoints.list(
                params={"limit": 100}
            ).auto_paging_iter()
            if endpoint.url == url
        ]
    if existing and not replace:
        enabled = [endpoint for endpoint in existing if endpoint.status == "enabled"]
        if enabled:
            return enabled[0].id, None, False
    with translate_stripe_errors("replace the webhook endpoint"):
        for endpoint in existing:
            client.v1.webhook_endpoints.delete(endpoint.id)
    with translate_stripe_errors("create the webhook endpoint"):
        endpoint = client.v1.webhook_endpoints.create(
            params={
                "url": url,
                "enabled_events": ["*"],
                "description": "Portal (/stripe/webhook/)",
            }
        )
    return endpoint.id, endpoint.secret, True
