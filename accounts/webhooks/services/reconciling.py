"""Reconciling: ask Stripe for the events Portal missed, and process them; replay events.

Stripe keeps its events for 30 days and says which it could not deliver, so what a lost
delivery, an outage or a wrong secret kept from Portal can be fetched and processed later, in the
order Stripe created it. Both store what they fetch (source "reconcile" or "replay") and
process it like a delivered event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.mail import mail_admins
from django.utils import timezone

from accounts.webhooks.app_settings import webhook_settings
from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.selectors import (
    webhook_events_by_stripe_id,
    webhook_events_due,
    webhook_events_last_processed_created,
    webhook_events_processed_stripe_ids,
)
from accounts.webhooks.services.processing import Progress, webhook_event_process
from accounts.webhooks.services.receiving import webhook_event_store
from portal.stripe_client import stripe_client, stripe_json, translate_stripe_errors

Status = WebhookEvent.Status


@dataclass
class ReconcileReport:
    """What `webhook_events_reconcile` found and did, against the `threshold` it was given."""

    threshold: int
    checked: int = 0
    pending: list[str] = field(default_factory=list)
    processed: int = 0
    failed: list[str] = field(default_factory=list)
    retried_local: int = 0

    @property
    def pending_count(self) -> int:
        """How many events Stripe had that were not processed here."""
        return len(self.pending)

    @property
    def too_many_pending(self) -> bool:
        """More events were pending than the threshold: webhooks are not arriving."""
        return self.pending_count > self.threshold


def _stripe_events(params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every event Stripe lists for `params`, oldest page last (Stripe lists newest first)."""
    client = stripe_client()
    with translate_stripe_errors("list events"):
        page = client.v1.events.list(params={"limit": 100, **params})
        while True:
            for event in page.data:
                yield stripe_json(event)
            if not page.has_more or not page.data:
                break
            page = client.v1.events.list(
                params={"limit": 100, **params, "starting_after": page.data[-1].id}
            )


def _created(gte: datetime, until: datetime | None) -> dict[str, int]:
    """Stripe's `created` filter: from `gte`, and up to `until` when given."""
    created = {"gte": int(gte.timestamp())}
    if until is not None:
        created["lte"] = int(until.timestamp())
    return created


def webhook_events_reconcile(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    threshold: int | None = None,
    progress: Progress | None = None,
) -> ReconcileReport:
    """Ask Stripe for what we may have missed, and process it; then retry local events due.

    Pending events are those Stripe lists as not delivered (`delivery_success=false`) or
    created since the last one processed here, that are not processed here yet. Missing ones are
    stored (source "reconcile") and processed in the order Stripe created them. `since` bounds
    both queries (default: `PORTAL_WEBHOOK_RECONCILE_WINDOW` back, or the last processed
    event), and `until` ends them (default: no end). When more than `threshold` (default
    `STRIPE_PENDING_WEBHOOKS_THRESHOLD`) were pending, the admins are mailed.
    """
    say = progress or (lambda message: None)
    threshold = webhook_settings.PENDING_THRESHOLD if threshold is None else threshold
    window_start = since or timezone.now() - timedelta(seconds=webhook_settings.RECONCILE_WINDOW)
    newer_than = since or webhook_events_last_processed_created() or window_start
    report = ReconcileReport(threshold=threshold)

    say(f"Asking Stripe for undelivered events since {window_start:%Y-%m-%d %H:%M:%S}Z")
    candidates: dict[str, dict[str, Any]] = {}
    for payload in _stripe_events(
        {"delivery_success": False, "created": _created(window_start, until)}
    ):
        candidates[payload["id"]] = payload
    say(f"Asking Stripe for events since {newer_than:%Y-%m-%d %H:%M:%S}Z")
    for payload in _stripe_events({"created": _created(newer_than, until)}):
        candidates.setdefault(payload["id"], payload)
    report.checked = len(candidates)

    done = webhook_events_processed_stripe_ids(stripe_ids=candidates)
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

    if report.too_many_pending:
        webhook_pending_mail_admins(report=report)
    return report


def webhook_pending_mail_admins(*, report: ReconcileReport) -> None:
    """Tell the admins that webhooks are not arriving (more pending than the threshold)."""
    shown = "\n".join(f"  {event_id}" for event_id in report.pending[:50])
    more = report.pending_count - min(report.pending_count, 50)
    mail_admins(
        f"{report.pending_count} Stripe webhook events were pending",
        (
            f"Reconciliation found {report.pending_count} Stripe events that had not been "
            f"processed (the threshold is {report.threshold}). It processed {report.processed} of "
            f"them; {len(report.failed)} failed.\n\n"
            "Webhooks are probably not reaching /stripe/webhook/: check the endpoint's URL and "
            "DJSTRIPE_WEBHOOK_SECRET in Stripe's Dashboard, and that the site is reachable.\n\n"
            f"{shown}" + (f"\n  ... and {more} more" if more else "") + "\n"
        ),
    )


def webhook_events_replay(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    ids: list[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Process events again, even those already processed: by Stripe id, or all Stripe created
    since a time (until another, when given). Events Portal never stored are fetched from
    Stripe first. Returns counts."""
    say = progress or (lambda message: None)
    payloads: list[dict[str, Any]] = []
    if ids:
        stored = webhook_events_by_stripe_id(stripe_ids=ids)
        client = stripe_client()
        for event_id in ids:
            if event_id in stored:
                payloads.append(stored[event_id].payload)
                continue
            with translate_stripe_errors(f"fetch event {event_id}"):
                payloads.append(stripe_json(client.v1.events.retrieve(event_id)))
    if since is not None:
        say(f"Asking Stripe for events since {since:%Y-%m-%d %H:%M:%S}Z")
        payloads.extend(_stripe_events({"created": _created(since, until)}))
    unique = {payload["id"]: payload for payload in payloads}
    ordered = sorted(reversed(list(unique.values())), key=lambda payload: payload["created"])
    say(f"Replaying {len(ordered)} events")
    counts = {"processed": 0, "failed": 0, "skipped": 0}
    for number, payload in enumerate(ordered, start=1):
        event, _ = webhook_event_store(payload=payload, source=WebhookEvent.Source.REPLAY)
        counts[webhook_event_process(event_pk=event.pk, force=True).result] += 1
        if number % 50 == 0 or number == len(ordered):
            say(f"  {number}/{len(ordered)} ({counts['failed']} failed)")
    return counts
