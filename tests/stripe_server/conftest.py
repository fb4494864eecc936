"""SDK clients pointed at the session's local Stripe server, and a webhook receiver.

The server itself is `tests/conftest.py`'s `local_stripe`, one per test session.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import stripe

from stripe_server.testing import LocalStripe

# Stripe's example object of every resource, kept outside the project (never copied into it).
STRIPE_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "stripe" / "fixtures3.json"


@pytest.fixture(scope="session")
def stripe_fixtures() -> dict[str, Any]:
    """`fixtures3.json`'s resources by name; tests of shape skip, saying why, without it."""
    if not STRIPE_FIXTURES.exists():
        pytest.skip(f"Stripe's fixtures3.json is not at {STRIPE_FIXTURES}; shape unchecked")
    return json.loads(STRIPE_FIXTURES.read_text())["resources"]


@pytest.fixture
def legacy_stripe(local_stripe: LocalStripe) -> Iterator[None]:
    """Point the module-level SDK (what dj-stripe uses) at the server for one test."""
    previous = (stripe.api_base, stripe.api_key)
    stripe.api_base, stripe.api_key = local_stripe.api_base, local_stripe.api_key
    yield
    stripe.api_base, stripe.api_key = previous


class WebhookReceiver:
    """A stdlib HTTP server on 127.0.0.1 that records what the local Stripe server posts."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        # Status codes to answer, in order; 200 once exhausted.
        self.answers: list[int] = []
        self.condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.condition:
                    receiver.received.append((body, dict(self.headers)))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.condition.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict]:
        with self.condition:
            return [json.loads(body) for body, _ in self.received]

    def wait_for(self, predicate: Callable[[list[dict]], bool], timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.condition:
            while True:
                events = [json.loads(body) for body, _ in self.received]
                if predicate(events):
                    return events
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"webhooks not received in time; got {events!r}")
                self.condition.wait(remaining)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def webhook_receiver(local_stripe: LocalStripe) -> Iterator[WebhookReceiver]:
    """A receiver, with the server delivering faithfully whatever knobs an earlier test left."""
    local_stripe.reset_delivery_faults()
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def only_new_endpoints(sdk: stripe.StripeClient) -> Iterator[None]:
    """Disable the webhook endpoints other tests left enabled (the server is shared by the
    session, e.g. Portal's own `*` endpoint), so delivery counts see only this test's; they are
    enabled again afterwards."""
    enabled = [
        endpoint.id
        for endpoint in sdk.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter()
        if endpoint.status == "enabled"
    ]
    for endpoint_id in enabled:
        sdk.v1.webhook_endpoints.update(endpoint_id, {"disabled": True})
    yield
    for endpoint_id in enabled:
        sdk.v1.webhook_endpoints.update(endpoint_id, {"disabled": False})
