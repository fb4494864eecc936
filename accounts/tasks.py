"""Celery tasks of the accounts app (autodiscovered). Periodic ones are scheduled in
`CELERY_BEAT_SCHEDULE`; the webhook pipeline's are in `accounts.webhooks.tasks`."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from accounts.billing.seat_sync import SyncOutcome, holder_quantity_sync, subscriptions_sync
from accounts.metrics.services import SnapshotOrderError, billing_snapshot_take
from accounts.selectors import holder_for_reference
from portal.stripe_client import StripeRequestError, StripeUnavailableError

logger = logging.getLogger(__name__)


@shared_task(name="accounts.subscriptions_sync", ignore_result=True)
def subscriptions_sync_task() -> int:
    """`sync_subscriptions` on a schedule (hourly by default): push changed seat counts to
    Stripe. Holders over the hourly update limit, or that failed, stay pending for the next
    run. Returns the number of subscriptions updated."""
    report = subscriptions_sync(progress=logger.debug)
    logger.info(
        "Seat sync: %d holders checked, %d updated, %d deferred, %d failed",
        report.checked,
        report.count(SyncOutcome.UPDATED),
        report.count(SyncOutcome.DEFERRED),
        report.count(SyncOutcome.FAILED),
    )
    return report.count(SyncOutcome.UPDATED)


@shared_task(name="accounts.billing_snapshot", ignore_result=True)
def billing_snapshot_task() -> int:
    """`billing_snapshot` on a schedule (hourly): take today's billing snapshot again, so the
    dashboard's figures are at most an hour old. Returns the subscriptions read."""
    try:
        report = billing_snapshot_take()
    except SnapshotOrderError as error:
        logger.error("Billing snapshot not taken: %s", error)
        return 0
    logger.info("Billing snapshot of %s: %d subscriptions", report.date, report.subscriptions)
    return report.subscriptions


@shared_task(bind=True, name="accounts.holder_seats_sync", ignore_result=True)
def holder_seats_sync_task(self: Task, reference: str, retry_in: float | None = None) -> str:
    """Push one holder's seat count (`"team:7"`), soon after its members changed
    (`accounts.billing.seat_scheduling` queues it). It reads the count when it runs, so the
    changes of a burst go in one push. A push of the holder still under way (`BUSY`) makes it
    try again `retry_in` seconds later, in a worker; a failure leaves the holder pending for
    the next sync. Returns the outcome (`SyncOutcome`)."""
    holder = holder_for_reference(reference=reference)
    if holder is None:
        return SyncOutcome.UNCHANGED
    try:
        outcome, detail = holder_quantity_sync(model=type(holder), pk=holder.pk)
    except (StripeUnavailableError, StripeRequestError) as error:
        logger.warning("Seat push of %s failed, left for the next sync: %s", reference, error)
        return SyncOutcome.FAILED
    logger.info("Seat push of %s: %s (%s)", reference, outcome, detail)
    if outcome == SyncOutcome.BUSY and retry_in and not self.request.is_eager:
        self.apply_async(args=(reference, retry_in), countdown=retry_in)
    return outcome
