"""The periodic billing pass: bring every subscription up to now.

Time always comes from the caller's `now` (a `Context`'s clock), never from the wall clock, so
advancing the server's clock (`/_local/clock/advance`) or a test clock renews subscriptions
exactly as the passing of real time would.
"""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.lifecycle.pending_updates import pending_update_expire_due
from stripe_server.lifecycle.subscriptions import (
    subscription_cancel_now,
    subscription_expire_incomplete,
    subscription_renew,
    subscription_retry_payment,
)

# An `incomplete` subscription whose first invoice is still unpaid expires after 23 hours.
INCOMPLETE_EXPIRY_SECONDS = 23 * 3600
TRIAL_WILL_END_NOTICE_SECONDS = 3 * 24 * 3600
# Bounds catch-up work after a large clock jump (e.g. a year of daily periods).
MAX_RENEWALS_PER_PASS = 400


def run_due(ctx: Context, *, test_clock: str | None = None) -> None:
    """Bring every subscription up to `ctx.now()`: renewals, trial ends, retries, expiry.

    Only subscriptions on `test_clock` (by default: on no test clock) are considered; a test
    clock's advance runs this with its own time.
    """
    for subscription in ctx.db.all("subscription"):
        if subscription.get("test_clock") != test_clock:
            continue
        subscription_catch_up(ctx, subscription)


def subscription_catch_up(ctx: Context, subscription: dict[str, Any]) -> None:
    """Everything due for one subscription by `ctx.now()`, in order: expiry of an unpaid
    first invoice or of a pending update, trial-end notice, renewals (or the cancellation a
    period end brings) and retries of failed payments.

    Invoice previews run this at the period's end, in a scratch copy of the store, to show the
    next invoice exactly as the renewal will make it.
    """
    now = ctx.now()
    status = subscription["status"]
    if status == "incomplete":
        if now - subscription["created"] >= INCOMPLETE_EXPIRY_SECONDS:
            subscription_expire_incomplete(ctx, subscription)
        return
    if status not in ("active", "trialing", "past_due"):
        return
    pending_update_expire_due(ctx, subscription)
    _maybe_warn_trial_end(ctx, subscription, now)
    renewals = 0
    while (
        subscription["status"] in ("active", "trialing", "past_due")
        and subscription["current_period_end"] <= now
        and renewals < MAX_RENEWALS_PER_PASS
    ):
        cancel_at = subscription["cancel_at"]
        if subscription["cancel_at_period_end"] or (
            cancel_at is not None and cancel_at <= subscription["current_period_end"]
        ):
            subscription_cancel_now(
                ctx,
                subscription,
                reason="cancellation_requested",
                at=subscription["current_period_end"],
            )
            break
        subscription_renew(ctx, subscription)
        renewals += 1
    if subscription["status"] == "past_due":
        subscription_retry_payment(ctx, subscription, now)


def _maybe_warn_trial_end(ctx: Context, subscription: dict[str, Any], now: int) -> None:
    trial_end = subscription["trial_end"]
    if subscription["status"] != "trialing" or trial_end is None:
        return
    if trial_end - now > TRIAL_WILL_END_NOTICE_SECONDS:
        return
    marker = f"trial_will_end:{subscription['id']}:{trial_end}"
    if ctx.db.meta_get(marker):
        return
    ctx.db.meta_set(marker, "sent")
    events.emit(ctx, "customer.subscription.trial_will_end", subscription)
