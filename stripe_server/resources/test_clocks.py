"""Test clocks: `/v1/test_helpers/test_clocks` create, retrieve, list, advance, delete.

A customer created with `test_clock=` lives on that clock's frozen time: its subscriptions
start, renew and end by it, and the server's own billing pass leaves them alone. Advancing the
clock runs the same billing pass (`lifecycle/billing_pass.py`) for that clock's subscriptions only,
as if the time in between had passed: renewals with new invoices, trials ending, cancellations
at period end, failed renewals on a failing card.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.frozen_time import KIND, FrozenClock, clock_context
from stripe_server.ids import new_id
from stripe_server.lifecycle.billing_pass import run_due
from stripe_server.lifecycle.customers import customer_remove
from stripe_server.routing import route
from stripe_server.wire import invalid_request

# Stripe removes a test clock (and its objects) 30 days after creating it.
LIFETIME_SECONDS = 30 * 24 * 3600
# Far enough for a few years of monthly renewals; bounds the work one request can ask for.
MAX_ADVANCE_SECONDS = 5 * 366 * 24 * 3600


@route("POST", "/v1/test_helpers/test_clocks")
def test_clock_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"frozen_time", "name"})
    frozen_time = params.integer("frozen_time", required=True, minimum=0)
    assert frozen_time is not None
    name = params.string("name") or None
    if name is not None and len(name) > 300:
        raise invalid_request("name must be at most 300 characters.", param="name")
    now = ctx.now()
    test_clock = {
        "created": now,
        "deletes_after": now + LIFETIME_SECONDS,
        "frozen_time": frozen_time,
        "id": new_id("clock"),
        "livemode": False,
        "name": name,
        "object": KIND,
        "status": "ready",
        "status_details": {},
    }
    ctx.db.save(KIND, test_clock)
    events.emit(ctx, "test_helpers.test_clock.created", test_clock)
    return ctx.present(test_clock)


@route("GET", "/v1/test_helpers/test_clocks/{id}")
def test_clock_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(ctx.require(KIND, ctx.arg("id")))


@route("GET", "/v1/test_helpers/test_clocks")
def test_clock_list(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown({"limit", "starting_after", "ending_before"})
    return ctx.page(ctx.db.all(KIND), "/v1/test_helpers/test_clocks", "test clock")


@route("POST", "/v1/test_helpers/test_clocks/{id}/advance")
def test_clock_advance(ctx: Context) -> dict[str, Any]:
    """Move the clock to `frozen_time` and bill its customers for the time that passed."""
    params = ctx.params
    params.reject_unknown({"frozen_time"})
    test_clock = ctx.require(KIND, ctx.arg("id"))
    target = params.integer("frozen_time", required=True)
    assert target is not None
    if target <= test_clock["frozen_time"]:
        raise invalid_request(
            "The test clock can only be advanced to a time after its current frozen_time "
            f"({test_clock['frozen_time']}).",
            param="frozen_time",
        )
    if target - test_clock["frozen_time"] > MAX_ADVANCE_SECONDS:
        raise invalid_request(
            "The local Stripe server advances a test clock by at most five years at a time.",
            param="frozen_time",
        )
    test_clock["status"] = "advancing"
    test_clock["status_details"] = {"advancing": {"target_frozen_time": target}}
    ctx.db.save(KIND, test_clock)
    events.emit(
        clock_context(ctx, test_clock["id"]), "test_helpers.test_clock.advancing", test_clock
    )
    run_due(dataclasses.replace(ctx, clock=FrozenClock(target)), test_clock=test_clock["id"])
    test_clock["frozen_time"] = target
    test_clock["status"] = "ready"
    test_clock["status_details"] = {}
    ctx.db.save(KIND, test_clock)
    events.emit(clock_context(ctx, test_clock["id"]), "test_helpers.test_clock.ready", test_clock)
    return ctx.present(test_clock)


@route("DELETE", "/v1/test_helpers/test_clocks/{id}")
def test_clock_delete(ctx: Context) -> dict[str, Any]:
    """Delete the clock and, as Stripe does, its customers (ending their subscriptions)."""
    test_clock = ctx.require(KIND, ctx.arg("id"))
    on_clock = clock_context(ctx, test_clock["id"])
    for customer in ctx.db.all("customer"):
        if customer.get("test_clock") == test_clock["id"]:
            customer_remove(on_clock, customer)
            # The clock's objects go with it entirely: no deleted-customer stub remains.
            ctx.db.delete(customer["id"])
    ctx.db.delete(test_clock["id"])
    events.emit(ctx, "test_helpers.test_clock.deleted", test_clock)
    return {"deleted": True, "id": test_clock["id"], "object": KIND}
