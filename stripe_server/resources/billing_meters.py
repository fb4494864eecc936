"""Billing meters: `/v1/billing/meters` create, retrieve, update, list, deactivate and reactivate,
and what a meter measured for a customer (`GET /v1/billing/meters/{id}/event_summaries`).

A meter names the `event_name` its meter events carry (one active meter per name), where in an
event's payload the customer and the value are (`customer_mapping`, `value_settings`) and how
its events add up (`default_aggregation[formula]`, `lifecycle/usage.py`). Metered prices name
a meter (`recurring[meter]`); the events themselves are `billing_meter_events.py`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.ids import new_id
from stripe_server.lifecycle.usage import FORMULAS, KIND, aggregate, json_number
from stripe_server.routing import route
from stripe_server.store import Reading
from stripe_server.versions import BASIL
from stripe_server.wire import Params, invalid_request

MINUTE, HOUR, DAY = 60, 3600, 86400
# `value_grouping_window`, and the boundaries its windows (and their bounds) start on.
GROUPING_WINDOWS = {"hour": HOUR, "day": DAY}
# The `last` formula arrived with 2025-03-31.basil.
FORMULAS_BEFORE_BASIL = ("count", "sum")


def _payload_key(params: Params, key: str) -> str:
    value = params.string(key, required=True)
    assert value is not None
    if len(value) > 100:
        raise invalid_request(
            f"{params.name(key)} must be at most 100 characters.", param=params.name(key)
        )
    return value


def _event_name_free(ctx: Context, event_name: str, meter_id: str | None = None) -> None:
    """Refuse (400) an event name an active meter other than `meter_id` already uses."""
    for other in ctx.db.all(KIND):
        taken = other["event_name"] == event_name and other["status"] == "active"
        if taken and other["id"] != meter_id:
            raise invalid_request(
                f"An active meter ({other['id']}) already uses the event_name `{event_name}`; "
                "deactivate it first, or choose another event_name.",
                param="event_name",
            )


@route("POST", "/v1/billing/meters")
def meter_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"customer_mapping", "default_aggregation", "display_name", "event_name",
         "event_time_window", "value_settings"}
    )  # fmt: skip
    display_name = params.string("display_name", required=True)
    assert display_name is not None
    if len(display_name) > 250:
        raise invalid_request("display_name must be at most 250 characters.", param="display_name")
    event_name = _payload_key(params, "event_name")
    aggregation = params.nested("default_aggregation", required=True)
    assert aggregation is not None
    aggregation.reject_unknown({"formula"})
    formulas = FORMULAS if ctx.api_version >= BASIL else FORMULAS_BEFORE_BASIL
    formula = aggregation.string("formula", required=True, choices=formulas)
    mapping = params.nested("customer_mapping")
    customer_key = "stripe_customer_id"
    if mapping is not None:
        mapping.reject_unknown({"event_payload_key", "type"})
        customer_key = _payload_key(mapping, "event_payload_key")
        mapping.string("type", required=True, choices=("by_id",))
    value_settings = params.nested("value_settings")
    value_key = "value"
    if value_settings is not None:
        value_settings.reject_unknown({"event_payload_key"})
        value_key = _payload_key(value_settings, "event_payload_key")
    window = params.string("event_time_window", choices=("day", "hour")) or None
    _event_name_free(ctx, event_name)
    now = ctx.now()
    meter = {
        "created": now,
        "customer_mapping": {"event_payload_key": customer_key, "type": "by_id"},
        "default_aggregation": {"formula": formula},
        "display_name": display_name,
        "event_name": event_name,
        "event_time_window": window,
        "id": new_id("mtr_test", 32),
        "livemode": False,
        "object": KIND,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "updated": now,
        "value_settings": {"event_payload_key": value_key},
    }
    ctx.db.save(KIND, meter)
    events.emit(ctx, "billing.meter.created", meter)
    return ctx.present(meter)


@route("GET", "/v1/billing/meters/{id}")
def meter_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(ctx.require(KIND, ctx.arg("id")))


def _meter_change(
    ctx: Context, meter: dict[str, Any], changes: dict[str, Any], event_type: str
) -> dict[str, Any]:
    before = dict(meter)
    meter.update(changes)
    if meter == before:
        return ctx.present(meter)
    meter["updated"] = ctx.now()
    ctx.db.save(KIND, meter)
    events.emit(ctx, event_type, meter, events.previous_attributes(before, meter))
    return ctx.present(meter)


@route("POST", "/v1/billing/meters/{id}")
def meter_update(ctx: Context) -> dict[str, Any]:
    """Only the display name changes (Stripe's meters keep their event name and formula)."""
    params = ctx.params
    params.reject_unknown({"display_name"})
    meter = ctx.require(KIND, ctx.arg("id"))
    changes = {}
    if params.has("display_name"):
        display_name = params.string("display_name", required=True)
        assert display_name is not None
        if len(display_name) > 250:
            raise invalid_request(
                "display_name must be at most 250 characters.", param="display_name"
            )
        changes["display_name"] = display_name
    return _meter_change(ctx, meter, changes, "billing.meter.updated")


@route("POST", "/v1/billing/meters/{id}/deactivate")
def meter_deactivate(ctx: Context) -> dict[str, Any]:
    """No more events count for a deactivated meter, and no price can take it."""
    ctx.params.reject_unknown(())
    meter = ctx.require(KIND, ctx.arg("id"))
    if meter["status"] != "active":
        raise invalid_request(f"The meter {meter['id']} is already inactive.")
    changes = {"status": "inactive", "status_transitions": {"deactivated_at": ctx.now()}}
    return _meter_change(ctx, meter, changes, "billing.meter.deactivated")


@route("POST", "/v1/billing/meters/{id}/reactivate")
def meter_reactivate(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown(())
    meter = ctx.require(KIND, ctx.arg("id"))
    if meter["status"] == "active":
        raise invalid_request(f"The meter {meter['id']} is already active.")
    _event_name_free(ctx, meter["event_name"], meter["id"])
    changes = {"status": "active", "status_transitions": {"deactivated_at": None}}
    return _meter_change(ctx, meter, changes, "billing.meter.reactivated")


@route("GET", "/v1/billing/meters")
def meter_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"status", "limit", "starting_after", "ending_before"})
    status = params.string("status", choices=("active", "inactive"))
    meters = [meter for meter in ctx.db.all(KIND) if status is None or meter["status"] == status]
    return ctx.page(meters, "/v1/billing/meters", "billing meter")


def _aligned(params: Params, key: str, window: str | None) -> int:
    """`start_time`/`end_time`, on a minute boundary (on the grouping window's, with one)."""
    value = params.integer(key, required=True, minimum=0)
    assert value is not None
    step = GROUPING_WINDOWS.get(window or "", MINUTE)
    if value % step:
        boundary = {MINUTE: "minute", HOUR: "hour", DAY: "day (00:00 UTC)"}[step]
        raise invalid_request(
            f"`{key}` ({value}) must be aligned with {boundary} boundaries"
            + (f" when `value_grouping_window` is `{window}`." if window else "."),
            param=key,
        )
    return value


@route("GET", "/v1/billing/meters/{id}/event_summaries")
def meter_event_summaries(ctx: Context) -> dict[str, Any]:
    """What the meter measured for a customer between `start_time` (inclusive) and `end_time`
    (exclusive): one summary, or one per hour or day (`value_grouping_window`) that had events,
    newest first."""
    params = ctx.params
    params.reject_unknown(
        {"customer", "start_time", "end_time", "value_grouping_window", "limit",
         "starting_after", "ending_before"}
    )  # fmt: skip
    meter = ctx.require(KIND, ctx.arg("id"))
    customer_id = params.string("customer", required=True)
    assert customer_id is not None
    ctx.require("customer", customer_id, param="customer", status=400)
    window = params.string("value_grouping_window", choices=tuple(GROUPING_WINDOWS)) or None
    start = _aligned(params, "start_time", window)
    end = _aligned(params, "end_time", window)
    if end <= start:
        raise invalid_request("`end_time` must be after `start_time`.", param="end_time")
    readings = ctx.db.meter_readings(meter["id"], customer_id, start, end)
    formula = meter["default_aggregation"]["formula"]
    spans: dict[tuple[int, int], list[Reading]] = {(start, end): readings}
    if window is not None:
        step = GROUPING_WINDOWS[window]
        spans = {}
        for reading in readings:
            window_start = start + (reading.timestamp - start) // step * step
            spans.setdefault((window_start, window_start + step), []).append(reading)
    summaries = [
        _summary(meter["id"], customer_id, span, aggregate(formula, in_span))
        for span, in_span in sorted(spans.items(), reverse=True)
    ]
    return ctx.page(
        summaries, f"/v1/billing/meters/{meter['id']}/event_summaries", "billing meter summary"
    )


def _summary(meter_id: str, customer_id: str, span: tuple[int, int], value: Any) -> dict:
    start, end = span
    # The same window of the same meter and customer keeps its id, so pages can follow it.
    digest = hashlib.sha256(f"{meter_id}:{customer_id}:{start}:{end}".encode()).hexdigest()
    return {
        "aggregated_value": json_number(value),
        "end_time": end,
        "id": f"mtrusg_{digest[:24]}",
        "livemode": False,
        "meter": meter_id,
        "object": "billing.meter_event_summary",
        "start_time": start,
    }
