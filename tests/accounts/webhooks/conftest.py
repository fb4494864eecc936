"""Fixtures of the webhook tests: the endpoint's secret, a signed poster, server events."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import stripe
from django.test import Client

from portal.stripe_client import stripe_client
from tests.accounts.webhooks.webhook_helpers import SECRET, WebhookPoster, events_since, server_now


@pytest.fixture
def webhook_secret(settings) -> str:
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    return SECRET


@pytest.fixture
def poster(client: Client, webhook_secret: str) -> WebhookPoster:
    return WebhookPoster(client=client, secret=webhook_secret)


@pytest.fixture
def make_event(stripe_settings) -> Callable[..., dict[str, Any]]:
    """Do something on the local server and return the event it emitted of `event_type`."""

    def make(action: Callable[[stripe.StripeClient], Any], event_type: str) -> dict[str, Any]:
        since = server_now(stripe_settings)
        result = action(stripe_client())
        object_id = result.id
        for _ in range(50):
            found = [
                event
                for event in events_since(since, object_ids={object_id})
                if event["type"] == event_type
            ]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no {event_type} event for {object_id}")

    return make
