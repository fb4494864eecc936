"""Webhook delivery fault knobs: duplicates, shuffling, delay, drops, pause and resume."""

from __future__ import annotations

import time
import urllib.error
import uuid
from collections.abc import Iterator

import pytest
import stripe

from stripe_server.faults import FaultKnobs
from stripe_server.store import Delivery
from stripe_server.testing import LocalStripe, running_server


@pytest.fixture(scope="module")
def local_stripe() -> Iterator[LocalStripe]:
    """A server of this module's own: the knobs act on every delivery a server makes, and the
    session's server may have other tests' retries queued (a delay would hold each of them)."""
    with running_server(extra_args=["--webhook-retry-delay", "0.2"]) as server:
        yield server


@pytest.fixture
def faults(local_stripe: LocalStripe) -> Iterator[LocalStripe]:
    """The server with faithful delivery restored after the test, whatever it set."""
    local_stripe.reset_delivery_faults()
    yield local_stripe
    local_stripe.reset_delivery_faults()


@pytest.fixture
def endpoint(sdk: stripe.StripeClient, webhook_receiver) -> Iterator[str]:
    created = sdk.v1.webhook_endpoints.create(
        {"url": webhook_receiver.url, "enabled_events": ["product.created"]}
    )
    yield created.id
    sdk.v1.webhook_endpoints.delete(created.id)


def _products(sdk: stripe.StripeClient, count: int) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [sdk.v1.products.create({"name": f"Fault {tag} {n}"}).id for n in range(count)]


def _received_for(receiver, product_ids: list[str]) -> list[str]:
    wanted = set(product_ids)
    return [
        e["data"]["object"]["id"] for e in receiver.events() if e["data"]["object"]["id"] in wanted
    ]


def _event_id(sdk: stripe.StripeClient, product_id: str) -> str:
    listed = sdk.v1.events.list({"type": "product.created", "limit": 100}).auto_paging_iter()
    for event in listed:
        if event.data.object.id == product_id:
            return event.id
    raise AssertionError(f"no product.created event for {product_id}")


def test_duplicate_sends_the_same_event_twice(
    sdk: stripe.StripeClient, faults: LocalStripe, endpoint: str, webhook_receiver
) -> None:
    faults.set_delivery_faults(duplicate=1, seed=7)
    [product] = _products(sdk, 1)

    events = webhook_receiver.wait_for(
        lambda got: len(_received_for(webhook_receiver, [product])) >= 2
    )

    same = [e for e in events if e["data"]["object"]["id"] == product]
    assert len(same) == 2
    assert same[0]["id"] == same[1]["id"]
    log = faults.admin("GET", f"/_local/webhooks/log?event={same[0]['id']}")["data"]
    assert "duplicated" in [entry["action"] for entry in log]


def test_drop_loses_the_delivery_for_good_and_records_it(
    sdk: stripe.StripeClient, faults: LocalStripe, endpoint: str, webhook_receiver
) -> None:
    faults.set_delivery_faults(drop=1)
    [product] = _products(sdk, 1)
    event_id = _event_id(sdk, product)

    deadline = time.monotonic() + 5
    state: list[dict] = []
    while time.monotonic() < deadline:
        state = faults.admin("GET", f"/_local/events/{event_id}/deliveries")["deliveries"]
        if state and state[0]["status"] != "pending":
            break
        time.sleep(0.05)

    assert state[0]["status"] == "failed"
    assert state[0]["last_error"] == "dropped by the delivery fault knobs"
    time.sleep(0.5)  # a retry would have come by now (retry delay is 0.2 s in tests)
    assert _received_for(webhook_receiver, [product]) == []
    failed = faults.admin("GET", "/_local/webhooks/deliveries?status=failed&type=product.created")
    assert event_id in [row["event"] for row in failed["data"]]


def test_pause_holds_deliveries_until_resume(
    sdk: stripe.StripeClient, faults: LocalStripe, endpoint: str, webhook_receiver
) -> None:
    faults.admin("POST", "/_local/webhooks/pause")
    products = _products(sdk, 3)
    time.sleep(0.6)
    assert _received_for(webhook_receiver, products) == []

    faults.admin("POST", "/_local/webhooks/resume")

    webhook_receiver.wait_for(lambda got: len(_received_for(webhook_receiver, products)) == 3)


def test_shuffle_reorders_a_batch_released_by_resume(
    sdk: stripe.StripeClient, faults: LocalStripe, endpoint: str, webhook_receiver
) -> None:
    faults.set_delivery_faults(paused=True)
    products = _products(sdk, 8)
    faults.set_delivery_faults(shuffle=True, seed=1234)

    faults.admin("POST", "/_local/webhooks/resume")

    webhook_receiver.wait_for(lambda got: len(_received_for(webhook_receiver, products)) == 8)
    received = _received_for(webhook_receiver, products)
    assert sorted(received) == sorted(products)
    assert received != products


def test_delay_holds_each_send_back(
    sdk: stripe.StripeClient, faults: LocalStripe, endpoint: str, webhook_receiver
) -> None:
    faults.set_delivery_faults(delay=0.7)
    started = time.monotonic()
    [product] = _products(sdk, 1)

    webhook_receiver.wait_for(lambda got: len(_received_for(webhook_receiver, [product])) == 1)

    assert time.monotonic() - started >= 0.7


def test_seeded_decisions_repeat_and_depend_on_the_seed() -> None:
    deliveries = [Delivery(n, f"evt_{n}", "we_1", "pending", 0, 0.0) for n in range(1, 41)]

    def decisions(seed: int) -> tuple[list[bool], list[int]]:
        knobs = FaultKnobs()
        knobs.configure(drop=0.5, shuffle=True, seed=seed)
        dropped = [knobs.drop(d) for d in deliveries]
        order = [d.id for d in knobs.arrange(deliveries)]
        return dropped, order

    first, again, other = decisions(99), decisions(99), decisions(100)
    assert first == again
    assert first != other
    assert 0 < sum(first[0]) < len(deliveries)
    assert sorted(first[1]) == [d.id for d in deliveries]


@pytest.mark.parametrize(
    "knobs",
    [{"drop": "2"}, {"duplicate": "-0.1"}, {"delay": "100"}, {"seed": "abc"}, {"volume": "11"}],
)
def test_invalid_knob_values_are_refused(faults: LocalStripe, knobs: dict[str, str]) -> None:
    with pytest.raises(urllib.error.HTTPError) as raised:
        faults.set_delivery_faults(**knobs)
    assert raised.value.code == 400
    assert faults.admin("GET", "/_local/webhooks/faults")["drop"] == 0
