"""Subscription schedules: phases of items that a subscription moves through on set dates.

A schedule is `not_started` until its first phase starts (then it starts its subscription),
`active` while a phase runs, and ends `completed` after its last phase (`end_behavior`
`release` leaves the subscription running on the last phase's items, `cancel` cancels it),
`released` when let go early, or `canceled` (`schedule_endings.py`). The subscription names it
in `schedule` while it drives it.

Entering a phase sets the subscription's items to the phase's, prorated per the phase's
`proration_behavior` as of the phase's start: a phase that starts when a period ends changes
nothing in that period, so the renewal that follows bills the new items in full. The billing
pass (`billing_pass.py`) enters phases and ends schedules as their dates pass.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.frozen_time import FrozenClock
from stripe_server.ids import new_id
from stripe_server.lifecycle.item_changes import subscription_apply_item_changes
from stripe_server.lifecycle.schedule_endings import KIND, OPEN_STATUSES, schedule_close
from stripe_server.lifecycle.subscription_start import ItemSpec, StartOptions, subscription_start
from stripe_server.lifecycle.subscriptions import (
    ENDED_STATUSES,
    subscription_cancel_now,
    subscription_save_updated,
)
from stripe_server.wire import Params, metadata_update

# `subscription_schedule.expiring` comes this long before the last phase ends.
EXPIRING_NOTICE_SECONDS = 7 * 24 * 3600


def phase_item(price: dict[str, Any], quantity: int | None, metadata: dict[str, str]) -> dict:
    """One item of a phase, as the schedule shows it (the price by id; a metered price with no
    quantity)."""
    return {
        "billing_thresholds": None,
        "discounts": [],
        "metadata": metadata,
        "plan": price["id"],
        "price": price["id"],
        "quantity": quantity,
        "tax_rates": [],
    }


def phase_new(
    items: list[dict[str, Any]],
    *,
    currency: str,
    start: int,
    end: int,
    proration_behavior: str = "create_prorations",
    metadata: dict[str, str] | None = None,
    trial_end: int | None = None,
) -> dict[str, Any]:
    """A phase of `items` from `start` to `end`."""
    return {
        "add_invoice_items": [],
        "application_fee_percent": None,
        "billing_cycle_anchor": None,
        "billing_thresholds": None,
        "collection_method": None,
        "currency": currency,
        "default_payment_method": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "end_date": end,
        "invoice_settings": None,
        "items": items,
        "metadata": metadata or {},
        "on_behalf_of": None,
        "proration_behavior": proration_behavior,
        "start_date": start,
        "transfer_data": None,
        "trial_end": trial_end,
    }


def schedule_new(
    ctx: Context,
    customer: dict[str, Any],
    phases: list[dict[str, Any]],
    *,
    end_behavior: str,
    metadata: dict[str, str],
) -> dict[str, Any]:
    """A `not_started` schedule of `phases` for the customer (not yet stored)."""
    return {
        "application": None,
        "billing_mode": {"flexible": None, "type": "classic", "updated_at": None},
        "canceled_at": None,
        "completed_at": None,
        "created": ctx.now(),
        "current_phase": None,
        "customer": customer["id"],
        "customer_account": None,
        "default_settings": {
            "application_fee_percent": None,
            "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
            "billing_cycle_anchor": "automatic",
            "billing_thresholds": None,
            "collection_method": "charge_automatically",
            "default_payment_method": None,
            "description": None,
            "invoice_settings": {
                "account_tax_ids": None,
                "days_until_due": None,
                "issuer": {"type": "self"},
            },
            "on_behalf_of": None,
            "transfer_data": None,
        },
        "end_behavior": end_behavior,
        "id": new_id("sub_sched"),
        "livemode": False,
        "metadata": metadata,
        "object": "subscription_schedule",
        "phases": phases,
        "released_at": None,
        "released_subscription": None,
        "status": "not_started",
        "subscription": None,
        "test_clock": customer.get("test_clock"),
    }


def schedule_from_subscription(
    ctx: Context, subscription: dict[str, Any], customer: dict[str, Any]
) -> dict[str, Any]:
    """An `active` schedule taking over the subscription: one phase of its items until its
    current period ends, then `release` (Stripe's `from_subscription`)."""
    items = [
        phase_item(item["price"], item.get("quantity"), {})
        for item in subscription["items"]["data"]
    ]
    phase = phase_new(
        items,
        currency=subscription["currency"],
        start=subscription["current_period_start"],
        end=subscription["current_period_end"],
        trial_end=subscription["trial_end"] if subscription["status"] == "trialing" else None,
    )
    schedule = schedule_new(ctx, customer, [phase], end_behavior="release", metadata={})
    schedule.update(
        {
            "status": "active",
            "subscription": subscription["id"],
            "current_phase": {"start_date": phase["start_date"], "end_date": phase["end_date"]},
        }
    )
    ctx.db.save(KIND, schedule)
    before = copy.deepcopy(subscription)
    subscription["schedule"] = schedule["id"]
    subscription_save_updated(ctx, subscription, before)
    events.emit(ctx, "subscription_schedule.created", schedule)
    return schedule


def current_phase_index(schedule: dict[str, Any]) -> int | None:
    """Which of the schedule's phases runs now (None unless it is `active`)."""
    current = schedule["current_phase"]
    if schedule["status"] != "active" or current is None:
        return None
    for index, phase in enumerate(schedule["phases"]):
        if phase["start_date"] == current["start_date"]:
            return index
    return None


def _set_current(schedule: dict[str, Any], index: int) -> None:
    phase = schedule["phases"][index]
    schedule["current_phase"] = {"start_date": phase["start_date"], "end_date": phase["end_date"]}


def schedule_start(ctx: Context, schedule: dict[str, Any]) -> None:
    """Start a `not_started` schedule: its subscription begins, at the first phase's start
    (`ctx`'s time should be that start), on the first phase's items."""
    first = schedule["phases"][0]
    customer = ctx.require("customer", schedule["customer"])
    specs = [
        ItemSpec(
            ctx.require("price", item["price"]),
            1 if item["quantity"] is None else item["quantity"],
            item["metadata"],
        )
        for item in first["items"]
    ]
    schedule.update({"status": "active", "released_at": None})
    _set_current(schedule, 0)
    options = StartOptions(schedule=schedule["id"], metadata=dict(first["metadata"]))
    subscription = subscription_start(ctx, customer, specs, options)
    schedule["subscription"] = subscription["id"]
    ctx.db.save(KIND, schedule)


def schedule_start_due(ctx: Context, schedule: dict[str, Any]) -> None:
    """Start the schedule if its first phase has begun by `ctx.now()`."""
    if schedule["status"] != "not_started":
        return
    start = schedule["phases"][0]["start_date"]
    if start > ctx.now():
        return
    schedule_start(dataclasses.replace(ctx, clock=FrozenClock(start)), schedule)
    events.emit(ctx, "subscription_schedule.updated", schedule)


def schedule_transition_due(ctx: Context, subscription: dict[str, Any]) -> int | None:
    """When the subscription's schedule next moves (its current phase ends), if by now."""
    schedule = ctx.db.get(subscription.get("schedule") or "", KIND)
    if schedule is None or current_phase_index(schedule) is None:
        return None
    at = schedule["current_phase"]["end_date"]
    return at if at <= ctx.now() else None


def schedule_advance(ctx: Context, subscription: dict[str, Any]) -> None:
    """The current phase ended (`ctx`'s time is its end): enter the next phase, or, after the
    last one, end the schedule as its `end_behavior` says."""
    schedule = ctx.require(KIND, subscription["schedule"])
    index = current_phase_index(schedule)
    assert index is not None
    at = ctx.now()
    if index + 1 < len(schedule["phases"]):
        _set_current(schedule, index + 1)
        ctx.db.save(KIND, schedule)
        phase = schedule["phases"][index + 1]
        phase_apply(ctx, subscription, phase, proration_behavior=phase["proration_behavior"])
        events.emit(ctx, "subscription_schedule.updated", schedule)
        return
    schedule_close(ctx, schedule, status="completed", at=at)
    if schedule["end_behavior"] == "cancel":
        subscription_cancel_now(ctx, subscription, reason="cancellation_requested", at=at)
        return
    before = copy.deepcopy(subscription)
    subscription["schedule"] = None
    subscription_save_updated(ctx, subscription, before)


def phase_apply(
    ctx: Context, subscription: dict[str, Any], phase: dict[str, Any], *, proration_behavior: str
) -> None:
    """Set the subscription's items (and merge metadata) to the phase's, now, announcing the
    change. An item whose price stays keeps its id; other prices get new items."""
    before = copy.deepcopy(subscription)
    wanted = {item["price"]: item for item in phase["items"]}
    changes: list[dict[str, Any]] = []
    for item in subscription["items"]["data"]:
        kept = wanted.pop(item["price"]["id"], None)
        if kept is None:
            changes.append({"id": item["id"], "deleted": True})
        else:
            changes.append(_change(item["id"], None, kept))
    for price_id, item in wanted.items():
        changes.append(_change(None, ctx.require("price", price_id), item))
    if phase["metadata"]:
        subscription["metadata"] = metadata_update(
            subscription["metadata"], Params({"metadata": phase["metadata"]})
        )
    subscription_apply_item_changes(
        ctx,
        subscription,
        changes,
        proration_behavior=proration_behavior,
        payment_behavior="allow_incomplete",
        proration_date=ctx.now(),
    )
    if subscription != before:
        subscription_save_updated(ctx, subscription, before)


def _change(item_id: str | None, price: dict[str, Any] | None, item: dict[str, Any]) -> dict:
    change: dict[str, Any] = {"id": item_id, "deleted": False, "quantity": item["quantity"]}
    if price is not None:
        change["price"] = price
    if item["metadata"]:
        change["metadata_params"] = Params({"metadata": item["metadata"]})
    return change


def schedule_release(ctx: Context, schedule: dict[str, Any]) -> None:
    """Let the subscription go on without the schedule, as it is now."""
    subscription = ctx.db.get(schedule["subscription"] or "", "subscription")
    schedule_close(ctx, schedule, status="released", at=ctx.now())
    if subscription is not None and subscription["schedule"] == schedule["id"]:
        before = copy.deepcopy(subscription)
        subscription["schedule"] = None
        subscription_save_updated(ctx, subscription, before)


def schedule_cancel(ctx: Context, schedule: dict[str, Any]) -> None:
    """Cancel the schedule and, if it drives one, its subscription, now."""
    subscription = ctx.db.get(schedule["subscription"] or "", "subscription")
    if subscription is not None and subscription["status"] not in ENDED_STATUSES:
        # Canceling the subscription cancels its schedule (`schedule_endings.py`).
        subscription_cancel_now(ctx, subscription, reason="cancellation_requested")
        return
    schedule_close(ctx, schedule, status="canceled", at=ctx.now())


def schedule_warn_expiring(ctx: Context, schedule: dict[str, Any]) -> None:
    """`subscription_schedule.expiring`, once, when the last phase ends within 7 days (not
    when a clock jumps past its end: it completes instead)."""
    if schedule["status"] not in OPEN_STATUSES or not schedule["phases"]:
        return
    end = schedule["phases"][-1]["end_date"]
    if not 0 < end - ctx.now() <= EXPIRING_NOTICE_SECONDS:
        return
    marker = f"schedule_expiring:{schedule['id']}:{end}"
    events.emit_once(ctx, marker, "subscription_schedule.expiring", schedule)
