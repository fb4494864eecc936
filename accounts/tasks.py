"""Celery tasks of the accounts app (autodiscovered). Periodic ones are scheduled in
`CELERY_BEAT_SCHEDULE`; the webhook pipeline's are in `accounts.webhooks.tasks`."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts.billing.seat_sync import SyncOutcome, subscriptions_sync

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
