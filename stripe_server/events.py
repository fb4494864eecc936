"""Events: one per state change, stored, and queued for every webhook endpoint that wants it."""

from __future__ import annotations

import time
from typing import Any

from stripe_server.context import Context
from stripe_server.expand import present
from stripe_server.ids import new_id
from stripe_server.store import Session
from stripe_server.versions import ACCOUNT_DEFAULT


def endpoint_wants(endpoint: dict[str, Any], event_type: str) -> bool:
    if endpoint.get("status") != "enabled":
        return False
    enabled = endpoint.get("enabled_events") or []
    return "*" in enabled or event_type in enabled


def emit(
    ctx: Context,
    event_type: str,
    obj: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record `event_type` about `obj` (as it is now) and queue its webhook deliveries."""
    data: dict[str, Any] = {"object": present(ctx.db, obj)}
    if previous_attributes:
        data["previous_attributes"] = previous_attributes
    event = {
        # Stored in the account's version; a webhook endpoint with its own `api_version`
        # receives it rendered in that one (`versions.render_event_data`).
        "api_version": ACCOUNT_DEFAULT,
        "created": ctx.now(),
        "data": data,
        "id": new_id("evt"),
        "livemode": False,
        "object": "event",
        "pending_webhooks": 0,
        "request": {"id": ctx.request_id, "idempotency_key": ctx.idempotency_key},
        "type": event_type,
    }
    # Deliveries are due on the wall clock (not the billing clock): they are real HTTP calls.
    queued_at = time.time()
    for endpoint in ctx.db.all("webhook_endpoint"):
        if endpoint_wants(endpoint, event_type):
            ctx.db.delivery_add(event["id"], endpoint["id"], queued_at)
            event["pending_webhooks"] += 1
    ctx.db.save("event", event)
    ctx.emitted_event_ids.append(event["id"])
    return event


def emit_once(ctx: Context, marker: str, event_type: str, obj: dict[str, Any]) -> None:
    """Emit a notice Stripe sends once (a trial ending soon, a schedule expiring): only the
    first time `marker`, which names the notice and what it is about, is seen."""
    if ctx.db.meta_get(marker):
        return
    ctx.db.meta_set(marker, "sent")
    emit(ctx, event_type, obj)


def with_delivery_state(db: Session, event: dict[str, Any]) -> dict[str, Any]:
    """The event with `pending_webhooks` as of now (deliveries not yet succeeded)."""
    counts = db.delivery_counts(event["id"])
    return {**event, "pending_webhooks": counts["pending"] + counts["failed"]}


def delivery_succeeded(db: Session, event: dict[str, Any]) -> bool:
    """Stripe's `delivery_success` filter: every webhook for the event was delivered."""
    counts = db.delivery_counts(event["id"])
    return counts["pending"] == 0 and counts["failed"] == 0


def previous_attributes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The old values of what changed, nested for hashes, as in `data.previous_attributes`."""
    changed: dict[str, Any] = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new or key == "updated":
            continue
        if isinstance(old, dict) and isinstance(new, dict) and key != "items":
            nested = previous_attributes(old, new)
            for added in new.keys() - old.keys():
                nested[added] = None
            changed[key] = nested
        else:
            changed[key] = old
    return changed
