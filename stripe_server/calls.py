"""Running another resource's API handler inside the current unit of work.

Checkout and the hosted pages act on customers, subscriptions and invoices exactly as a client
calling the API would, so they call those handlers (same validation, same events) with
parameters shaped as decoded form data, in the caller's transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from stripe_server.context import Context
from stripe_server.routing import Handler
from stripe_server.wire import Params


def call_handler(
    ctx: Context,
    handler: Handler,
    params: dict[str, Any] | None = None,
    *,
    path_args: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run `handler` with `params` (strings, nested dicts and lists) in `ctx`'s transaction.

    Events it emits are added to `ctx.emitted_event_ids`, so the caller's request wakes the
    webhook worker for them.
    """
    inner = dataclasses.replace(ctx, params=Params(params or {}), path_args=path_args or {})
    result = handler(inner)
    return result[1] if isinstance(result, tuple) else result
