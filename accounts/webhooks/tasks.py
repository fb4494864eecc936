"""Celery tasks of the webhook pipeline. With a broker they run in a worker; without one
(`make run`), in-process. The periodic ones are scheduled in `CELERY_BEAT_SCHEDULE`."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from accounts.webhooks.app_settings import webhook_settings
from accounts.webhooks.services.processing import (
    IN_PROCESS,
    webhook_event_process,
    webhook_events_drain,
    webhook_events_due_process,
)
from accounts.webhooks.services.reconciling import webhook_events_reconcile

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="accounts.webhooks.process", acks_late=True, ignore_result=True)
def webhook_event_process_task(self: Task, event_pk: int, force: bool = False) -> str:
    """Process one stored event; a failure is recorded and retried with backoff."""
    worker = self.request.hostname or IN_PROCESS
    if self.request.is_eager:
        worker = IN_PROCESS
    outcome = webhook_event_process(event_pk=event_pk, force=force, worker=worker)
    if outcome.retry_in is not None and not self.request.is_eager:
        # In-process (no broker), a failed event waits for `check_pending_webhooks` or the
        # admin's retry instead: retrying inline would hold the request thread.
        raise self.retry(countdown=outcome.retry_in, max_retries=webhook_settings.MAX_ATTEMPTS)
    return outcome.status


@shared_task(bind=True, name="accounts.webhooks.drain", acks_late=True, ignore_result=True)
def webhook_events_drain_task(self: Task) -> int:
    """Process every received event (`scheduling.webhook_events_wake` queues it); a failed one
    goes on with backoff in its own `webhook_event_process_task`."""
    taken, more = webhook_events_drain(
        worker=self.request.hostname or IN_PROCESS,
        retry_later=lambda event_pk, seconds: webhook_event_process_task.apply_async(
            args=(event_pk,), countdown=seconds
        ),
    )
    if more:
        self.apply_async()
    return taken


@shared_task(name="accounts.webhooks.reconcile", ignore_result=True)
def webhook_events_reconcile_task() -> int:
    """`check_pending_webhooks` on a schedule: fetch and process what Stripe says we missed."""
    report = webhook_events_reconcile(progress=logger.info)
    logger.info(
        "Reconciled webhooks: %d checked, %d pending, %d processed, %d failed",
        report.checked,
        report.pending_count,
        report.processed,
        len(report.failed),
    )
    return report.pending_count


@shared_task(name="accounts.webhooks.retry_due", ignore_result=True)
def webhook_events_retry_due_task() -> int:
    """Process again the stored events that are due: never picked up, failed and due, or stuck
    (the periodic form of `replay_webhook_events --due`)."""
    return sum(webhook_events_due_process().values())
