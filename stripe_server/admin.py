"""Non-Stripe endpoints under `/_local/`: health, the clock, billing passes, delivery state,
meter events that did not count.

They need no API key (the server binds to loopback) and never exist on real Stripe, so client
code must not depend on them; tests and local tooling do. Later fault knobs belong here too.
"""

from __future__ import annotations

from typing import Any

from stripe_server.context import Context
from stripe_server.lifecycle.billing_pass import run_due
from stripe_server.resources.account import ACCOUNT_ID
from stripe_server.resources.prices import price_delete
from stripe_server.routing import route


@route("GET", "/_local/health", public=True)
def health(ctx: Context) -> dict[str, Any]:
    return {"ok": True, "account": ACCOUNT_ID, "now": ctx.now()}


@route("GET", "/_local/clock", public=True)
def clock_show(ctx: Context) -> dict[str, Any]:
    return {"now": ctx.now(), "offset": ctx.clock.offset}


@route("POST", "/_local/clock/advance", public=True)
def clock_advance(ctx: Context) -> dict[str, Any]:
    """Move time forward (`seconds=`), then renew, end trials and retry payments now due."""
    seconds = ctx.params.integer("seconds", required=True, minimum=0)
    assert seconds is not None
    ctx.clock.advance(seconds)
    ctx.db.meta_set("clock_offset", str(ctx.clock.offset))
    run_due(ctx)
    return {"now": ctx.now(), "offset": ctx.clock.offset}


@route("POST", "/_local/billing/run", public=True)
def billing_run(ctx: Context) -> dict[str, Any]:
    run_due(ctx)
    return {"now": ctx.now()}


@route("GET", "/_local/events/{id}/deliveries", public=True)
def event_deliveries(ctx: Context) -> dict[str, Any]:
    event = ctx.require("event", ctx.arg("id"))
    return {"event": event["id"], "deliveries": ctx.db.deliveries_for_event(event["id"])}


@route("DELETE", "/_local/prices/{id}", public=True)
def price_remove(ctx: Context) -> dict[str, Any]:
    """Delete a price as the Dashboard can (emits `price.deleted`); the v1 API cannot."""
    return price_delete(ctx, ctx.arg("id"))


@route("GET", "/_local/billing/meter_event_errors", public=True)
def meter_event_errors(ctx: Context) -> dict[str, Any]:
    """The latest meter events that did not count (`limit=`, default 20), newest first, each
    with the code and message of the error Stripe reports for it asynchronously."""
    limit = ctx.params.integer("limit", minimum=1, maximum=100, default=20)
    assert limit is not None
    return {
        "data": [
            {
                "code": record.error_code,
                "created": record.created,
                "event_name": record.event_name,
                "identifier": record.identifier,
                "message": record.error_message,
                "timestamp": record.timestamp,
            }
            for record in ctx.db.meter_event_errors(limit)
        ]
    }
