"""Events: retrieve and list (filters `type` with `*` wildcards, `types[]`, `created`,
`delivery_success`)."""

from __future__ import annotations

import fnmatch
from typing import Any

from stripe_server.context import Context
from stripe_server.events import delivery_succeeded, with_delivery_state
from stripe_server.routing import route
from stripe_server.wire import created_filter, invalid_request


@route("GET", "/v1/events/{id}")
def event_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(with_delivery_state(ctx.db, ctx.require("event", ctx.arg("id"))))


@route("GET", "/v1/events")
def event_list(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown(
        {"type", "types", "created", "delivery_success", "limit", "starting_after",
         "ending_before"}
    )  # fmt: skip
    event_type = params.string("type")
    types = params.strings("types")
    if event_type and types:
        raise invalid_request(
            "You may only specify one of these parameters: type, types.", param="types"
        )
    if types is not None and len(types) > 20:
        raise invalid_request("You may pass at most 20 types.", param="types")
    delivery_success = params.boolean("delivery_success")
    created = created_filter(params)
    selected = [
        event
        for event in ctx.db.all("event")
        if (event_type is None or fnmatch.fnmatchcase(event["type"], event_type))
        and (types is None or event["type"] in types)
        and created(event["created"])
        and (delivery_success is None or delivery_succeeded(ctx.db, event) == delivery_success)
    ]
    page = ctx.page(selected, "/v1/events", "event")
    page["data"] = [with_delivery_state(ctx.db, event) for event in page["data"]]
    return page
