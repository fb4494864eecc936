"""Celery tasks of the accounts app (autodiscovered). Periodic ones are scheduled in
`CELERY_BEAT_SCHEDULE`; the webhook pipeline's are in `accounts.webhooks.tasks`."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts.billing.seat_sync import SyncOutcome, subscriptions_sync
from accounts.metrics.services import SnapshotOrderError, billing_snapshot_take

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
