"""The usage flush as a Celery task, run by beat (`CELERY_BEAT_SCHEDULE`)."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts.usage.services import usage_flush

logger = logging.getLogger(__name__)


@shared_task(name="accounts.usage_flush", ignore_result=True)
def usage_flush_task() -> int:
    """Send the usage recorded so far to Stripe; the number of batches sent. Stripe out of
    reach only delays it: the batches wait for the next run."""
    report = usage_flush()
    logger.info(
        "Usage flush: %d batch(es) sent, %d already counted, %d failed, %d waiting",
        report.sent,
        report.already_counted,
        report.failed,
        report.waiting,
    )
    return report.sent
