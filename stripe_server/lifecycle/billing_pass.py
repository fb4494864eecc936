"""The periodic billing pass: bring every subscription up to now.

Time always comes from the caller's `now` (a `Context`'s clock), never from the wall clock, so
advancing the server's clock (`/_local/clock/advance`) or a test clock renews subscriptions
exactly as the passing of real time would.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.frozen_time import FrozenClock
from stripe_server.lifecycle.discounts import subscription_discounts_end_due
from stripe_server.lifecycle.pending_updates import pending_update_expire_due
from stripe_server.lifecycle.resumptions import resumption_expire_due
from stripe_server.lifecycle.schedule_endings import KIND as SCHEDULE_KIND
from stripe_server.lifecycle.schedules import (
    schedule_advance,
    schedule_start_due,
    schedule_transition_due,
    schedule_warn_expiring,
)
from stripe_server.lifecycle.subscriptions import (
    subscription_cancel_now,
    subscription_expire_incomplete,
    subscription_renew,
    subscription_retry_payment,
    subscription_save_updated,
)
from stripe_server.lifecycle.trial_ends import trial_end_without_payment_method

# An `incomplete` subscription whose first invoice is still unpaid expires after 23 hours.
INCOMPLETE_EXPIRY_SECONDS = 23 * 3600
TRIAL_WILL_END_NOTICE_SECONDS = 3 * 24 * 3600
# Bounds catch-up work (renewals and phase changes) after a large clock jump (e.g. a year of
# daily periods).
MAX_STEPS = 400


def run_due(ctx: Context, *, test_clock: str | None = None) -> None:
    """Bring every subscription (and schedule) up to `ctx.now()`: schedules that start,
    renewals, phase changes, trial ends, retries, expiry.

    Only objects on `test_clock` (by default: on no test clock) are considered; a test clock's
    advance runs this with its own time.
    """
    for schedule in ctx.db.all(SCHEDULE_KIND):
        if schedule.get("test_clock") == test_clock:
            schedule_start_due(ctx, schedule)
            schedule_warn_expiring(ctx, schedule)
    for subscription in ctx.db.all("subscription"):
        if subscription.get("test_clock") != test_clock:
            continue
        subscription_catch_up(ctx, subscription)


def subscription_catch_up(
    ctx: Context, subscription: dict[str, Any], *, trial_settings_apply: bool = True
) -> None:
    """Everything due for one subscription by `ctx.now()`, in order: expiry of an unpaid
    first invoice, of a pending update or of a paused subscription's resumption invoice,
    trial-end notice, its schedule's phase changes and renewals in the order of their dates (a
    phase starting when a period ends comes first, so the renewal bills the new phase; a
    discount ending by then ends first, so the renewal is billed without it), or the
    cancellation a period end brings, or the pause or cancellation a trial ending without a
    payment method brings (`trial_ends.py`), and retries of failed payments.

    Invoice previews run this at the period's end, in a scratch copy of the store, to show the
    next invoice exactly as the renewal will make it; they pass `trial_settings_apply=False`,
    showing the invoice a trial's end makes once a payment method is there.
    """
    now = ctx.now()
    status = subscription["status"]
    if status == "incomplete":
        if now - subscription["created"] >= INCOMPLETE_EXPIRY_SECONDS:
            subscription_expire_incomplete(ctx, subscription)
        return
    if status == "paused":
        resumption_expire_due(ctx, subscription)
        return
    if status not in ("active", "trialing", "past_due"):
        return
    pending_update_expire_due(ctx, subscription)
    _maybe_warn_trial_end(ctx, subscription, now)
    steps = 0
    while subscription["status"] in ("active", "trialing", "past_due") and steps < MAX_STEPS:
        steps += 1
        period_end = subscription["current_period_end"]
        phase_change = schedule_transition_due(ctx, subscription)
        if phase_change is not None and phase_change <= period_end:
            schedule_advance(
                dataclasses.replace(ctx, clock=FrozenClock(phase_change)), subscription
            )
            continue
        if period_end > now:
            break
        cancel_at = subscription["cancel_at"]
        if subscription["cancel_at_period_end"] or (
            cancel_at is not None and cancel_at <= period_end
        ):
            subscription_cancel_now(
                ctx, subscription, reason="cancellation_requested", at=period_end
            )
            break
        if trial_settings_apply and trial_end_without_payment_method(ctx, subscription):
            break
        _discounts_end_due(ctx, subscription, period_end)
        subscription_renew(ctx, subscription)
    if subscription["status"] in ("active", "trialing", "past_due"):
        _discounts_end_due(ctx, subscription, now)
    if subscription["status"] == "past_due":
        subscription_retry_payment(ctx, subscription, now)


def _discounts_end_due(ctx: Context, subscription: dict[str, Any], at: int) -> None:
    """End the subscription's discounts that ended by `at` (`customer.subscription.updated`
    as the last of them ends)."""
    before = copy.deepcopy(subscription)
    ended_at = subscription_discounts_end_due(ctx, subscription, at)
    if ended_at is not None:
        subscription_save_updated(
            dataclasses.replace(ctx, clock=FrozenClock(ended_at)), subscription, before
        )


def _maybe_warn_trial_end(ctx: Context, subscription: dict[str, Any], now: int) -> None:
    trial_end = subscription["trial_end"]
    if subscription["status"] != "trialing" or trial_end is None:
        return
    if trial_end - now > TRIAL_WILL_END_NOTICE_SECONDS:
        return
    # Sent when it fell due (3 days before the trial ends, or as a shorter trial starts),
    # however late the pass (or a test clock's advance) gets to it.
    due = max(trial_end - TRIAL_WILL_END_NOTICE_SECONDS, subscription["trial_start"] or 0)
    marker = f"trial_will_end:{subscription['id']}:{trial_end}"
    events.emit_once(
        dataclasses.replace(ctx, clock=FrozenClock(min(due, now))),
        marker,
        "customer.subscription.trial_will_end",
        subscription,
    )
