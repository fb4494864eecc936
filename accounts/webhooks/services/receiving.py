"""Receiving: check that a delivered body is a Stripe event, and store it once.

Storing is all the endpoint does before it answers: one insert, so Stripe's acknowledgement
never waits for processing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction

from accounts.webhooks.models import WebhookEvent


class MalformedEventError(ValueError):
    """The body is not a Stripe event (bad JSON, or an object without the event fields)."""


# A Stripe event nests a dozen levels at most (an expanded object's lists of objects). Deeper
# JSON is no event, and past Python's recursion limit it cannot even be parsed.
MAX_JSON_DEPTH = 64
_TOO_DEEP = f"The body's JSON nests deeper than {MAX_JSON_DEPTH} levels; no Stripe event does."


def _json_depth(value: Any) -> int:
    """How deeply objects and arrays nest in parsed JSON (a scalar is 0), without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def webhook_body_json(*, body: bytes) -> Any:
    """A webhook body's JSON; `MalformedEventError` (saying why) when it is not JSON, or nests
    deeper than any Stripe event."""
    try:
        payload = json.loads(body)
    except RecursionError:
        raise MalformedEventError(_TOO_DEEP) from None
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedEventError(f"The body is not valid JSON: {error}.") from None
    if _json_depth(payload) > MAX_JSON_DEPTH:
        raise MalformedEventError(_TOO_DEEP)
    return payload


def webhook_event_parse(*, body: bytes) -> dict[str, Any]:
    """The event in a webhook body, checked for the fields Portal relies on."""
    payload = webhook_body_json(body=body)
    if not isinstance(payload, dict) or payload.get("object") != "event":
        raise MalformedEventError('The body is not a Stripe event (no "object": "event").')
    event_id = payload.get("id")
    if not isinstance(event_id, str) or not event_id.startswith("evt_") or len(event_id) > 255:
        raise MalformedEventError('The event has no valid "id" (evt_...).')
    if not isinstance(payload.get("type"), str) or not payload["type"]:
        raise MalformedEventError('The event has no "type".')
    if not isinstance(payload.get("created"), int):
        raise MalformedEventError('The event has no "created" timestamp.')
    data = payload.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEventError('The event has no "data.object".')
    return payload


def webhook_event_store(
    *, payload: dict[str, Any], source: str = WebhookEvent.Source.WEBHOOK
) -> tuple[WebhookEvent, bool]:
    """Store the event unless it is already stored; return it and whether it is new.

    Safe under concurrent duplicates: the unique `stripe_id` decides, and the loser of the race
    gets the winner's row. Inserts first: a new event (nearly every one) costs one statement.
    """
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                stripe_id=payload["id"],
                type=payload["type"][:255],
                livemode=bool(payload.get("livemode")),
                api_version=str(payload.get("api_version") or "")[:64],
                payload=payload,
                stripe_created=datetime.fromtimestamp(payload["created"], tz=UTC),
                source=source,
            )
    except IntegrityError:
        return WebhookEvent.objects.get(stripe_id=payload["id"]), False
    return event, True
