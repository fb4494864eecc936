"""Helpers for the webhook tests: signed posts, unique names, the server's events."""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.test import Client

from accounts.webhooks.signature import signature_header_build
from portal.stripe_client import stripe_client, stripe_json
from stripe_server.testing import LocalStripe

WEBHOOK_URL = "/stripe/webhook/"
SECRET = "whsec_portaltestsecret0000000000000000"


@dataclass
class WebhookPoster:
    """Posts bodies to the endpoint as Stripe would, signed with the endpoint's secret."""

    client: Client
    secret: str

    def post(
        self,
        payload: dict[str, Any] | bytes,
        *,
        header: str | None = None,
        timestamp: int | None = None,
        sign: bool = True,
    ):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if header is None and sign:
            header = signature_header_build(payload=body, secret=self.secret, timestamp=timestamp)
        extra = {"HTTP_STRIPE_SIGNATURE": header} if header is not None else {}
        return self.client.post(WEBHOOK_URL, data=body, content_type="application/json", **extra)


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:10]}"


def server_now(local_stripe: LocalStripe) -> int:
    """The local server's clock (other tests may have moved it ahead of the wall clock)."""
    return int(local_stripe.admin("GET", "/_local/clock")["now"])


def events_since(
    created_gte: int, *, object_ids: set[str] | None = None, created_lte: int | None = None
) -> list[dict[str, Any]]:
    """The events the server created since then (oldest first), optionally only about some
    objects, or only until a moment (other tests share the server, and their test clocks date
    their events in the future)."""
    client = stripe_client()
    events: list[dict[str, Any]] = []
    created: dict[str, int] = {"gte": created_gte}
    if created_lte is not None:
        created["lte"] = created_lte
    page = client.v1.events.list(params={"limit": 100, "created": created})
    while True:
        events.extend(stripe_json(event) for event in page.data)
        if not page.has_more or not page.data:
            break
        page = client.v1.events.list(
            params={
                "limit": 100,
                "created": created,
                "starting_after": page.data[-1].id,
            }
        )
    if object_ids is not None:
        events = [event for event in events if event["data"]["object"].get("id") in object_ids]
    # Stripe lists newest first; within one second only that order tells which came first.
    return sorted(reversed(events), key=lambda event: event["created"])


def fresh_second(local_stripe: LocalStripe) -> int:
    """Wait for the server's next second and return it: no earlier test's event shares it."""
    start = server_now(local_stripe) + 1
    while server_now(local_stripe) < start:
        time.sleep(0.05)
    return start


def burst_event(
    number: int, *, products: list[Any], rng: random.Random, now: int, prefix: str
) -> dict[str, Any]:
    """Event `number` of a burst: one in ten a real `product.updated` about one of `products`
    (dj-stripe re-reads it from Stripe); the others of types Portal has no handler for, stored
    and settled without a Stripe call, so that a burst measures the pipeline rather than the
    local Stripe server. Created up to a minute before `now`, in `rng`'s order."""
    real = number % 10 == 0
    return {
        "id": f"evt_{prefix}_{uuid.uuid4().hex}",
        "object": "event",
        "type": "product.updated" if real else f"portal.burst.kind{number % 7}",
        "created": now - rng.randint(0, 60),
        "livemode": False,
        "api_version": "2026-08-26.dahlia",
        "data": {
            "object": json.loads(json.dumps(rng.choice(products).to_dict()))
            if real
            else {"id": f"obj_{number}", "object": "thing", "n": number}
        },
    }
