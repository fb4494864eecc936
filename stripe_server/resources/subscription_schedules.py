"""Subscription schedules: create (`from_subscription`, or `customer` + `phases` +
`start_date`), retrieve, update (`phases`, `end_behavior`, `metadata`, `proration_behavior`),
list, release and cancel.

The rules (phases entered as their dates pass, how a schedule ends) live in
`lifecycle/schedules.py`; this module turns API parameters into phases and those steps.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.frozen_time import clock_context
from stripe_server.lifecycle.item_changes import items_check_compatible
from stripe_server.lifecycle.periods import period_end
from stripe_server.lifecycle.schedule_endings import KIND, OPEN_STATUSES
from stripe_server.lifecycle.schedules import (
    current_phase_index,
    phase_apply,
    phase_item,
    phase_new,
    schedule_cancel,
    schedule_from_subscription,
    schedule_new,
    schedule_release,
    schedule_start,
)
from stripe_server.lifecycle.subscriptions import ENDED_STATUSES
from stripe_server.resources.subscriptions import (
    PRORATION_BEHAVIORS,
    item_quantity,
    usable_price,
)
from stripe_server.routing import route
from stripe_server.wire import (
    Params,
    created_filter,
    invalid_request,
    metadata_update,
    missing_param,
)

END_BEHAVIORS = ("release", "cancel")
_PHASE_PARAMS = {"items", "start_date", "end_date", "duration", "proration_behavior", "metadata"}


@route("POST", "/v1/subscription_schedules")
def subscription_schedule_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"customer", "from_subscription", "phases", "start_date", "end_behavior", "metadata"}
    )
    if params.has("from_subscription"):
        return ctx.present(_from_subscription(ctx, params))
    customer_id = params.string("customer", required=True) or ""
    customer = ctx.require("customer", customer_id, param="customer", status=400)
    ctx = clock_context(ctx, customer.get("test_clock"))
    end_behavior = params.string("end_behavior", choices=END_BEHAVIORS, default="release")
    start = _timestamp(ctx, params, "start_date")
    phases = _phases(ctx, params, first_start=start)
    schedule = schedule_new(
        ctx,
        customer,
        phases,
        end_behavior=end_behavior or "release",
        metadata=metadata_update({}, params),
    )
    if phases[0]["start_date"] <= ctx.now():
        schedule_start(ctx, schedule)
    else:
        ctx.db.save(KIND, schedule)
    events.emit(ctx, "subscription_schedule.created", schedule)
    return ctx.present(schedule)


def _from_subscription(ctx: Context, params: Params) -> dict[str, Any]:
    """Stripe's `from_subscription`: no other parameter may be set with it."""
    for other in ("customer", "phases", "start_date", "end_behavior", "metadata"):
        if params.has(other):
            raise invalid_request(
                f"You cannot set `{other}` if `from_subscription` is set.", param=other
            )
    subscription_id = params.string("from_subscription", required=True) or ""
    subscription = ctx.require(
        "subscription", subscription_id, param="from_subscription", status=400
    )
    ctx = clock_context(ctx, subscription.get("test_clock"))
    if subscription["schedule"]:
        raise invalid_request(
            "You cannot migrate a subscription that is already attached to a schedule: "
            f"`{subscription['schedule']}`.",
            param="from_subscription",
        )
    if subscription["status"] in (*ENDED_STATUSES, "incomplete"):
        raise invalid_request(
            f"A subscription in the `{subscription['status']}` status cannot be migrated to a "
            "subscription schedule.",
            param="from_subscription",
        )
    customer = ctx.require("customer", subscription["customer"])
    return schedule_from_subscription(ctx, subscription, customer)


@route("GET", "/v1/subscription_schedules/{id}")
def subscription_schedule_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(ctx.require(KIND, ctx.arg("id")))


@route("POST", "/v1/subscription_schedules/{id}")
def subscription_schedule_update(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"phases", "end_behavior", "metadata", "proration_behavior"})
    schedule = ctx.require(KIND, ctx.arg("id"))
    ctx = clock_context(ctx, schedule.get("test_clock"))
    _check_open(schedule, "update")
    proration = params.string(
        "proration_behavior", choices=PRORATION_BEHAVIORS, default="create_prorations"
    )
    before = copy.deepcopy(schedule)
    if params.has("end_behavior"):
        schedule["end_behavior"] = params.string("end_behavior", choices=END_BEHAVIORS)
    schedule["metadata"] = metadata_update(schedule["metadata"], params)
    if params.has("phases"):
        running = schedule["status"] == "active"
        phases = _phases(ctx, params, first_start=None, running=running)
        if running:
            _replace_running_phases(ctx, schedule, phases, proration or "create_prorations")
        else:
            schedule["phases"] = phases
            if phases[0]["start_date"] <= ctx.now():
                schedule_start(ctx, schedule)
    ctx.db.save(KIND, schedule)
    if schedule != before:
        events.emit(
            ctx,
            "subscription_schedule.updated",
            schedule,
            events.previous_attributes(before, schedule),
        )
    return ctx.present(schedule)


def _replace_running_phases(
    ctx: Context, schedule: dict[str, Any], phases: list[dict[str, Any]], proration: str
) -> None:
    """New phases for an active schedule, from the current phase (or an earlier one) on; past
    phases may be left out. The phase running now is applied at once (a change to its items
    prorates per `proration`)."""
    index = current_phase_index(schedule)
    assert index is not None
    starts = [phase["start_date"] for phase in schedule["phases"][: index + 1]]
    if phases[0]["start_date"] not in starts:
        raise invalid_request(
            "The first phase's `start_date` must be the start of the current phase "
            f"({schedule['current_phase']['start_date']}) or of an earlier one.",
            param="phases[0][start_date]",
        )
    kept = [p for p in schedule["phases"] if p["end_date"] <= phases[0]["start_date"]]
    schedule["phases"] = kept + phases
    now = ctx.now()
    running = [p for p in schedule["phases"] if p["start_date"] <= now < p["end_date"]]
    if not running:
        raise invalid_request(
            "The phases must include the current time: the last phase ended already.",
            param="phases",
        )
    phase = running[0]
    schedule["current_phase"] = {"start_date": phase["start_date"], "end_date": phase["end_date"]}
    subscription = ctx.require("subscription", schedule["subscription"])
    phase_apply(ctx, subscription, phase, proration_behavior=proration)


@route("GET", "/v1/subscription_schedules")
def subscription_schedule_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    stamps = ("created", "canceled_at", "completed_at", "released_at")
    params.reject_unknown(
        {"customer", "scheduled", "limit", "starting_after", "ending_before", *stamps}
    )
    customer = params.string("customer") or None
    scheduled = params.boolean("scheduled")
    filters = {stamp: created_filter(params, stamp) for stamp in stamps if params.has(stamp)}

    def matches(schedule: dict[str, Any]) -> bool:
        # Without `customer`, schedules of test clock customers are left out, as at Stripe.
        if customer is None and schedule["test_clock"] is not None:
            return False
        if customer is not None and schedule["customer"] != customer:
            return False
        if scheduled is not None and (schedule["status"] == "not_started") != scheduled:
            return False
        return all(
            schedule[stamp] is not None and accepts(schedule[stamp])
            for stamp, accepts in filters.items()
        )

    schedules = [schedule for schedule in ctx.db.all(KIND) if matches(schedule)]
    return ctx.page(schedules, "/v1/subscription_schedules", "subscription schedule")


@route("POST", "/v1/subscription_schedules/{id}/release")
def subscription_schedule_release(ctx: Context) -> dict[str, Any]:
    """Release: the subscription keeps its current items and goes on without the schedule."""
    ctx.params.reject_unknown({"preserve_cancel_date"})
    return _close(ctx, "release", schedule_release)


@route("POST", "/v1/subscription_schedules/{id}/cancel")
def subscription_schedule_cancel(ctx: Context) -> dict[str, Any]:
    """Cancel the schedule and its subscription now."""
    ctx.params.reject_unknown({"invoice_now", "prorate"})
    return _close(ctx, "cancel", schedule_cancel)


def _close(
    ctx: Context, verb: str, step: Callable[[Context, dict[str, Any]], None]
) -> dict[str, Any]:
    schedule = ctx.require(KIND, ctx.arg("id"))
    ctx = clock_context(ctx, schedule.get("test_clock"))
    _check_open(schedule, verb)
    step(ctx, schedule)
    return ctx.present(ctx.require(KIND, schedule["id"]))


def _check_open(schedule: dict[str, Any], verb: str) -> None:
    if schedule["status"] not in OPEN_STATUSES:
        raise invalid_request(
            f"You cannot {verb} a subscription schedule that is currently in the "
            f"`{schedule['status']}` status. It must be in one of the following statuses: "
            "`not_started`, `active`."
        )


# --- phases ---------------------------------------------------------------------------------


def _timestamp(ctx: Context, params: Params, key: str) -> int | None:
    """A `start_date`: a timestamp or `now`; one in the past (a backdated schedule) is not
    emulated."""
    if not params.has(key):
        return None
    if params.string(key) == "now":
        return ctx.now()
    value = params.integer(key)
    if value is not None and value < ctx.now():
        raise invalid_request(
            "The local Stripe server does not emulate backdated subscription schedules: "
            f"`{params.name(key)}` must be `now` or later.",
            param=params.name(key),
        )
    return value


def _phases(
    ctx: Context, params: Params, *, first_start: int | None, running: bool = False
) -> list[dict[str, Any]]:
    """`phases[N]`, each starting where the one before ends; the first starts at
    `first_start` unless it names its own start (which, for a `running` schedule, may be the
    past start of its current phase)."""
    entries = params.items("phases")
    if not entries:
        raise missing_param("phases")
    phases: list[dict[str, Any]] = []
    start = first_start
    for position, entry in enumerate(entries):
        entry.reject_unknown(_PHASE_PARAMS)
        given = _phase_start(ctx, entry, may_be_past=running and position == 0)
        if position == 0:
            start = given if given is not None else start
            if start is None:
                raise missing_param(entry.name("start_date"))
        elif given is not None and given != start:
            raise invalid_request(
                "Each phase must start when the one before it ends "
                f"({start}); `{entry.name('start_date')}` is {given}.",
                param=entry.name("start_date"),
            )
        assert start is not None
        items = _phase_items(ctx, entry)
        end = _phase_end(entry, start, items)
        phases.append(
            phase_new(
                [phase_item(price, quantity, metadata) for price, quantity, metadata in items],
                currency=items[0][0]["currency"],
                start=start,
                end=end,
                proration_behavior=entry.string(
                    "proration_behavior", choices=PRORATION_BEHAVIORS, default="create_prorations"
                )
                or "create_prorations",
                metadata=metadata_update({}, entry),
            )
        )
        start = end
    return phases


def _phase_start(ctx: Context, entry: Params, *, may_be_past: bool) -> int | None:
    if not entry.has("start_date"):
        return None
    if entry.string("start_date") == "now":
        return ctx.now()
    if may_be_past:
        return entry.integer("start_date")
    return _timestamp(ctx, entry, "start_date")


def _phase_items(ctx: Context, entry: Params) -> list[tuple[dict[str, Any], int | None, dict]]:
    item_params = entry.items("items")
    if not item_params:
        raise missing_param(entry.name("items"))
    items = []
    for item in item_params:
        item.reject_unknown({"price", "plan", "quantity", "metadata"})
        price_id = item.string("price") or item.string("plan")
        if not price_id:
            raise missing_param(item.name("price"))
        price = usable_price(ctx, price_id, item.name("price"))
        items.append((price, item_quantity(item, price), metadata_update({}, item)))
    items_check_compatible([{"price": price} for price, _, _ in items])
    return items


def _phase_end(
    entry: Params, start: int, items: list[tuple[dict[str, Any], int | None, dict]]
) -> int:
    """`end_date`, or `duration` intervals on, or (neither given) one billing period on."""
    if entry.has("end_date") and entry.has("duration"):
        raise invalid_request(
            "You may only specify one of these parameters: duration, end_date.",
            param=entry.name("duration"),
        )
    duration = entry.nested("duration")
    if duration is not None:
        duration.reject_unknown({"interval", "interval_count"})
        interval = duration.string(
            "interval", required=True, choices=("day", "week", "month", "year")
        )
        count = duration.integer("interval_count", minimum=1, default=1)
        end = period_end(start, {"interval": interval, "interval_count": count}, 1)
    elif entry.has("end_date"):
        end = entry.integer("end_date") or 0
    else:
        end = period_end(start, items[0][0]["recurring"], 1)
    if end <= start:
        raise invalid_request(
            f"The phase must end after it starts ({start}); `{entry.name('end_date')}` is {end}.",
            param=entry.name("end_date"),
        )
    return end
