"""Meter events (`POST /v1/billing/meter_events`) and their cancellation
(`POST /v1/billing/meter_event_adjustments`).

Stripe checks a meter event's request as it comes in (its parameters, the timestamp window, an
identifier seen in the last 24 hours) and answers 400 for those; what the event means (is there
an active meter for its `event_name`, a customer under the meter's `customer_mapping` key, a
number under its `value_settings` key) it checks later, asynchronously: the request succeeds,
and an event that fails those checks never counts (Stripe reports it in an error report, the
`v1.billing.meter.error_report_triggered` and `v1.billing.meter.no_meter_found` thin events).
The server answers the same way and keeps the errors Stripe would report, with Stripe's error
codes, for `GET /_local/billing/meter_event_errors`.

A customer on a test clock sends events on the clock's time: the timestamp window is judged by
its frozen time, and a missing timestamp is its frozen time.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from stripe_server.context import Context
from stripe_server.frozen_time import clock_context
from stripe_server.lifecycle.usage import KIND as METER_KIND
from stripe_server.routing import route
from stripe_server.store import MeterEventRecord
from stripe_server.wire import Params, StripeError, invalid_request, missing_param

# Stripe takes events up to 35 calendar days old and 5 minutes ahead (clock drift).
PAST_WINDOW_SECONDS = 35 * 86400
FUTURE_WINDOW_SECONDS = 5 * 60
# An identifier is unique among the events received in the last 24 hours, and an event can be
# canceled for 24 hours after it is received.
IDENTIFIER_WINDOW_SECONDS = 24 * 3600
MAX_NAME_LENGTH = 100
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


@dataclass(frozen=True)
class EventCheck:
    """What an event counts for once checked: its meter, customer and value, or the error
    (Stripe's asynchronous error code and message) that keeps it from counting."""

    meter: str | None = None
    customer: str | None = None
    value: str | None = None
    error_code: str | None = None
    error_message: str | None = None


def _payload(params: Params) -> dict[str, str]:
    payload = params.nested("payload", required=True)
    assert payload is not None
    for key, value in payload.data.items():
        if not isinstance(value, str):
            raise invalid_request(
                f"Invalid value for {payload.name(key)}: payload values must be strings.",
                param=payload.name(key),
            )
    return dict(payload.data)


def _short_string(params: Params, key: str, *, required: bool) -> str | None:
    value = params.string(key, required=required)
    if value is not None and len(value) > MAX_NAME_LENGTH:
        raise invalid_request(
            f"{key} must be at most {MAX_NAME_LENGTH} characters.", param=params.name(key)
        )
    return value


def _meter_for(ctx: Context, event_name: str) -> dict[str, Any] | None:
    """The active meter of `event_name`, else its latest deactivated one (or None)."""
    meters = [meter for meter in ctx.db.all(METER_KIND) if meter["event_name"] == event_name]
    active = [meter for meter in meters if meter["status"] == "active"]
    return (active or meters or [None])[0]


def _check(
    ctx: Context, event_name: str, payload: dict[str, str], meter: dict[str, Any] | None
) -> EventCheck:
    """What the event counts for, or why it does not (Stripe's asynchronous checks)."""
    if meter is None:
        return EventCheck(
            error_code="no_meter",
            error_message=f"No meter was found matching event_name {event_name}.",
        )
    if meter["status"] != "active":
        return EventCheck(
            error_code="archived_meter",
            error_message=f"The meter {meter['id']} for event_name {event_name} is inactive.",
        )
    customer_key = meter["customer_mapping"]["event_payload_key"]
    customer_id = payload.get(customer_key)
    if not customer_id:
        return EventCheck(
            error_code="meter_event_no_customer_defined",
            error_message=f"Customer mapping key {customer_key} not found in payload.",
        )
    customer = ctx.db.get(customer_id, "customer")
    if customer is None or customer.get("deleted"):
        return EventCheck(
            error_code="meter_event_customer_not_found",
            error_message=f"No customer was found with the id {customer_id}.",
        )
    if meter["default_aggregation"]["formula"] == "count":
        return EventCheck(meter=meter["id"], customer=customer_id)
    value_key = meter["value_settings"]["event_payload_key"]
    value = payload.get(value_key)
    if value is None:
        return EventCheck(
            error_code="meter_event_value_not_found",
            error_message=f"Value key {value_key} not found in payload.",
        )
    if not _NUMBER.fullmatch(value.strip()):
        return EventCheck(
            error_code="meter_event_invalid_value",
            error_message=f"The value {value!r} under {value_key} is not a number.",
        )
    return EventCheck(meter=meter["id"], customer=customer_id, value=value.strip())


def _event_now(ctx: Context, payload: dict[str, str], meter: dict[str, Any] | None) -> int:
    """ "Now" for the event: its customer's test clock's time, if it has one."""
    customer_key = meter["customer_mapping"]["event_payload_key"] if meter else "stripe_customer_id"
    customer = ctx.db.get(payload.get(customer_key) or "", "customer")
    return clock_context(ctx, (customer or {}).get("test_clock")).now()


def _timestamp(params: Params, now: int) -> int:
    timestamp = params.integer("timestamp", default=now)
    assert timestamp is not None
    earliest, latest = now - PAST_WINDOW_SECONDS, now + FUTURE_WINDOW_SECONDS
    if timestamp < earliest:
        raise invalid_request(
            "The event timestamp cannot be more than 35 days in past. Expected a timestamp "
            f"greater than or equal to {earliest}.",
            param="timestamp",
        )
    if timestamp > latest:
        raise invalid_request(
            "The event timestamp cannot be more than 5 minutes in the future. Expected a "
            f"timestamp less than or equal to {latest}.",
            param="timestamp",
        )
    return timestamp


@route("POST", "/v1/billing/meter_events")
def meter_event_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"event_name", "identifier", "payload", "timestamp"})
    event_name = _short_string(params, "event_name", required=True)
    assert event_name is not None
    payload = _payload(params)
    identifier = _short_string(params, "identifier", required=False) or str(uuid.uuid4())
    meter = _meter_for(ctx, event_name)
    timestamp = _timestamp(params, _event_now(ctx, payload, meter))
    received = ctx.now()
    if ctx.db.meter_event_received_since(identifier, received - IDENTIFIER_WINDOW_SECONDS):
        raise invalid_request(
            f"An event already exists with identifier {identifier}.", param="identifier"
        )
    event = {
        "created": received,
        "event_name": event_name,
        "identifier": identifier,
        "livemode": False,
        "object": "billing.meter_event",
        "payload": payload,
        "timestamp": timestamp,
    }
    check = _check(ctx, event_name, payload, meter)
    ctx.db.meter_event_add(
        MeterEventRecord(
            identifier=identifier,
            event_name=event_name,
            meter=check.meter,
            customer=check.customer,
            timestamp=timestamp,
            value=check.value,
            created=received,
            error_code=check.error_code,
            error_message=check.error_message,
            data=event,
        )
    )
    return ctx.present(event)


@route("POST", "/v1/billing/meter_event_adjustments")
def meter_event_adjustment_create(ctx: Context) -> dict[str, Any]:
    """Cancel an event received in the last 24 hours (`type=cancel`): it stops counting."""
    params = ctx.params
    params.reject_unknown({"cancel", "event_name", "type"})
    event_name = _short_string(params, "event_name", required=True)
    params.string("type", required=True, choices=("cancel",))
    cancel = params.nested("cancel")
    if cancel is None:
        raise missing_param("cancel")
    cancel.reject_unknown({"identifier"})
    identifier = cancel.string("identifier", required=True)
    assert identifier is not None
    record = ctx.db.meter_event_received_since(identifier, ctx.now() - IDENTIFIER_WINDOW_SECONDS)
    if record is None or record.event_name != event_name:
        raise invalid_request(
            f"No meter event with identifier {identifier} and event_name {event_name} was "
            "received in the last 24 hours: only those can be canceled.",
            param="cancel[identifier]",
        )
    if record.canceled:
        raise StripeError(
            f"The meter event with identifier {identifier} has already been canceled.",
            param="cancel[identifier]",
        )
    assert record.seq is not None
    ctx.db.meter_event_cancel(record.seq)
    return {
        "cancel": {"identifier": identifier},
        "event_name": event_name,
        "livemode": False,
        "object": "billing.meter_event_adjustment",
        # Stripe answers `pending` and cancels asynchronously; here it is already done.
        "status": "pending",
        "type": "cancel",
    }
