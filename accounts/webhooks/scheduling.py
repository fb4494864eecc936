"""When and where stored events are processed: by Celery workers, or in the web process.

The one module of the webhook pipeline that reads Celery's configuration: the services process
events, the tasks run the services, and this decides which task runs when. With a broker, the
endpoint does not queue a task per event but wakes the workers with "drain" tasks, so
acknowledging stays a single insert. Without one (`make run`: tasks run eagerly), there is no
worker, and the event is processed in the web process once its acknowledgement has been sent.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import transaction

from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.services.processing import (
    webhook_event_backoff_clear,
    webhook_events_due_process,
)
from accounts.webhooks.tasks import webhook_event_process_task, webhook_events_drain_task

logger = logging.getLogger(__name__)

# Without a worker or beat, each received event also retries this many events that are due, so
# failures are retried with backoff as long as Stripe keeps sending.
IN_PROCESS_SWEEP = 5
# A burst wakes the workers at most twice per window and web process, not once per event.
WAKE_WINDOW_SECONDS = 1.0
WAKE_CACHE_KEY = "accounts:webhooks:wake"


def _in_process() -> bool:
    """Whether tasks run here and now: no broker, so Celery runs them eagerly."""
    return bool(webhook_event_process_task.app.conf.task_always_eager)


def webhook_event_received(*, event: WebhookEvent) -> Callable[[], None] | None:
    """Have a newly stored event processed without holding up its acknowledgement.

    With a broker, wake the workers (`webhook_events_wake`) once the transaction commits, and
    return None. Without one, return the processing, for the caller to run once the
    acknowledgement has been sent (the endpoint's response runs it when the server closes it).
    """
    if _in_process():
        return functools.partial(_process_here, event_pk=event.pk)
    transaction.on_commit(webhook_events_wake)
    return None


def _process_here(*, event_pk: int) -> None:
    """Process the event in this process, then a few of the events that are due."""
    # This runs after the response was sent, where nobody sees what it raises: log it, or an
    # event that could not start would sit unprocessed without a word.
    try:
        # `apply` runs the task here and now, touching no broker connection at all.
        webhook_event_process_task.apply(args=(event_pk,))
        webhook_events_due_process(limit=IN_PROCESS_SWEEP)
    except Exception:
        logger.exception("In-process processing of webhook event %s did not run", event_pk)


def webhook_events_wake() -> None:
    """Make sure a drain task will take every event received so far.

    The first event of a window queues two drains: one now, which processes it at once, and
    one when the window closes, for the events received during the window, which queue none.
    With a cache shared between processes (Redis, memcached) the window is shared too; with
    the default per-process cache each web process has its own. A cache that cannot `add`
    (the dummy one) only makes every event queue its two drains.
    """
    if cache.add(WAKE_CACHE_KEY, True, timeout=WAKE_WINDOW_SECONDS):
        webhook_events_drain_task.delay()
        webhook_events_drain_task.apply_async(countdown=WAKE_WINDOW_SECONDS)


def webhook_events_retry(*, events: Iterable[WebhookEvent]) -> int:
    """Process the given events again, even processed ones (the admin's retry action); their
    count. Each is handed to the process task once the transaction commits: with a broker a
    worker takes it, without one it runs then, in this process."""
    count = 0
    for event in events:
        webhook_event_backoff_clear(event_pk=event.pk)
        transaction.on_commit(
            functools.partial(webhook_event_process_task.delay, event.pk, force=True)
        )
        count += 1
    return count
