"""When a holder's new seat count reaches Stripe: soon after its members change, once per burst.

The one module of seat sync that reads Celery's configuration (as `accounts.webhooks.scheduling`
is for webhooks): the team views call it, it queues `holder_seats_sync_task`, which calls the
service. A change schedules a push `PORTAL_SEAT_SYNC_DELAY_SECONDS` later, once the change is
committed; changes in the meantime schedule nothing more, because the push reads the member
count when it runs. With a broker the push is a delayed Celery task (the burst's window kept in
Django's cache); without one (`make run`), a timer thread in the web process. A push that finds
another push of the holder under way tries again a moment later, so the last word is always the
latest count. `sync_subscriptions` (hourly with Celery beat) still pushes whatever is left.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

from django.core.cache import cache
from django.db import connections, transaction

from accounts.app_settings import app_settings
from accounts.billing.seat_sync import SyncOutcome, holder_counts_seats
from accounts.models import SubscriptionHolder
from accounts.selectors import holder_reference
from accounts.tasks import holder_seats_sync_task

logger = logging.getLogger(__name__)

WINDOW_CACHE_KEY = "accounts:seat-push-window:{}"

# Without a broker: the holders with a push waiting in this process, by reference, and every
# timer not finished yet (waiting or pushing).
_timers: dict[str, threading.Timer] = {}
_unfinished: set[threading.Timer] = set()
_timers_lock = threading.Lock()


def _in_process() -> bool:
    """Whether tasks run here and now: no broker, so Celery runs them eagerly."""
    return bool(holder_seats_sync_task.app.conf.task_always_eager)


def holder_seats_sync_soon(*, holder: SubscriptionHolder) -> bool:
    """Push the holder's seat count to Stripe `PORTAL_SEAT_SYNC_DELAY_SECONDS` after the
    current transaction commits, unless a push is already waiting (it will read the new count).
    Only holders that count seats and have a subscription are pushed; with the delay at 0,
    nothing is scheduled. Returns whether a push is on its way."""
    delay = app_settings.SEAT_SYNC_DELAY_SECONDS
    if not delay or not holder.subscription_id or not holder_counts_seats(model=type(holder)):
        return False
    reference = holder_reference(holder=holder)
    transaction.on_commit(functools.partial(_schedule, reference, delay))
    return True


def seat_sync_when() -> str:
    """When a seat change that is waiting reaches Stripe, in words that are true here."""
    if app_settings.SEAT_SYNC_DELAY_SECONDS:
        return "within a minute"
    if _in_process():
        return "when manage.py sync_subscriptions next runs"
    schedule = holder_seats_sync_task.app.conf.beat_schedule.get("subscriptions-sync") or {}
    minutes = round(float(schedule.get("schedule", 3600)) / 60)
    return f"at the next seat sync, within {minutes} minute{'s' if minutes != 1 else ''}"


def _schedule(reference: str, delay: int) -> None:
    if _in_process():
        _timer_start(reference, delay)
    elif cache.add(WINDOW_CACHE_KEY.format(reference), True, timeout=delay):
        # The task runs after the window closes: a change in the window is in its count, and
        # a change after it opens a new window (and a new task).
        holder_seats_sync_task.apply_async(args=(reference, delay), countdown=delay + 1)


def _timer_start(reference: str, delay: float) -> None:
    with _timers_lock:
        if reference in _timers:
            return
        timer = threading.Timer(delay, lambda: _timer_fire(reference, delay, timer))
        timer.daemon = True
        _timers[reference] = timer
        _unfinished.add(timer)
    timer.start()


def _timer_fire(reference: str, delay: float, timer: threading.Timer) -> None:
    # Taken off first: a change from now on schedules another push, which reads it.
    with _timers_lock:
        _timers.pop(reference, None)
    try:
        outcome = holder_seats_sync_task.apply(args=(reference,)).get(propagate=False)
        if outcome == SyncOutcome.BUSY:
            _timer_start(reference, delay)
    except Exception:
        # On a thread of its own: nobody would see it otherwise. The holder stays pending.
        logger.exception("The seat push of %s did not run", reference)
    finally:
        connections.close_all()
        with _timers_lock:
            _unfinished.discard(timer)


def seat_pushes_wait(*, timeout: float) -> bool:
    """Wait until no push is waiting or running in this process (without a broker); whether
    that happened within `timeout` seconds. For a clean shutdown, and tests."""
    deadline = time.monotonic() + timeout
    while True:
        with _timers_lock:
            unfinished = next(iter(_unfinished), None)
        if unfinished is None:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        unfinished.join(remaining)
