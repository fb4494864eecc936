"""How a subscription schedule ends: `completed` (its last phase ended), `released` (the
subscription goes on without it) or `canceled` (with its subscription).

Kept apart from `schedules.py` so that canceling a subscription (`subscriptions.py`, below
the schedules) can end its schedule too.
"""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.context import Context

KIND = "subscription_schedule"
# A schedule in one of these still drives (or will drive) a subscription.
OPEN_STATUSES = ("not_started", "active")
_STAMPS = {"completed": "completed_at", "released": "released_at", "canceled": "canceled_at"}


def schedule_close(ctx: Context, schedule: dict[str, Any], *, status: str, at: int) -> None:
    """End the schedule with `status` at `at`, announcing `subscription_schedule.{status}`.

    A released schedule names its subscription `released_subscription` instead of
    `subscription`, as Stripe's does.
    """
    schedule["status"] = status
    schedule["current_phase"] = None
    schedule[_STAMPS[status]] = at
    if status == "released":
        schedule["released_subscription"] = schedule["subscription"]
        schedule["subscription"] = None
    ctx.db.save(KIND, schedule)
    events.emit(ctx, f"subscription_schedule.{status}", schedule)


def schedule_cancel_with_subscription(ctx: Context, subscription: dict[str, Any], at: int) -> None:
    """The subscription was canceled: its open schedule is canceled with it."""
    schedule = ctx.db.get(subscription.get("schedule") or "", KIND)
    if schedule is not None and schedule["status"] in OPEN_STATUSES:
        schedule_close(ctx, schedule, status="canceled", at=at)
