"""Faults: the confirm page and the webhook racing from threads, a burst of 2,000 events with
duplicates, and Stripe unreachable while a webhook is processed.

These run on whichever database is configured (`.ci/run` runs them on PostgreSQL too). On
SQLite the threads take turns at the write lock; on PostgreSQL they really overlap; either way
the outcome must be exactly once."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import stripe
from django.db import close_old_connections, connection
from django.test import Client
from djstripe.models import Product, Subscription

from accounts.models import User
from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.services.processing import webhook_event_process
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import (
    hosted_checkout_pay,
    plan_offer,
    plan_price_create,
    session_id_in,
    site_domain_set,
)
from tests.accounts.webhooks.webhook_helpers import (
    SECRET,
    WebhookPoster,
    burst_event,
    events_since,
    server_now,
)
from tests.portal.test_stripe_client import closed_port

BURST = 2000


def in_threads(actions: list[Callable[[], object]]) -> list[object]:
    """Run the actions at once (released together by a barrier); their results, in order.
    Each thread closes its database connection, as a request thread would."""
    barrier = threading.Barrier(len(actions))

    def run(action: Callable[[], object]) -> object:
        try:
            barrier.wait()
            return action()
        finally:
            close_old_connections()
            connection.close()

    with ThreadPoolExecutor(len(actions)) as pool:
        return list(pool.map(run, actions))


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def offered_price(stripe_settings, monkeypatch, webhook_secret):
    site_domain_set("portal.test")
    price = plan_price_create(unit_amount=2100)
    plan_offer(monkeypatch, price)
    return price


def paid_checkout(user: User, price) -> str:
    location = logged_in(user).post("/subscription/checkout/", {"price": price.id})["Location"]
    return session_id_in(hosted_checkout_pay(location))


def completed_event(since: int, session_id: str) -> dict:
    for _ in range(50):
        found = [
            event
            for event in events_since(since, object_ids={session_id})
            if event["type"] == "checkout.session.completed"
        ]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no checkout.session.completed for {session_id}")


def live_subscriptions_at_stripe(customer_id: str) -> list[str]:
    listed = stripe_client().v1.subscriptions.list(params={"customer": customer_id, "limit": 10})
    return [s.id for s in listed.data if s.status in ("active", "trialing", "past_due")]


@pytest.mark.django_db(transaction=True)
def test_the_confirm_page_and_the_webhook_racing_leave_exactly_one_subscription(
    offered_price, stripe_settings
):
    user = User.objects.create_user(email=f"race-{uuid.uuid4().hex[:6]}@example.com")
    since = server_now(stripe_settings)
    session_id = paid_checkout(user, offered_price)
    event = completed_event(since, session_id)
    confirm = f"/subscription/confirm/?session_id={session_id}"

    browsers = [logged_in(user), logged_in(user)]  # logged in before the race starts

    def confirm_page() -> int:
        return browsers.pop().get(confirm).status_code

    def webhook() -> int:
        return WebhookPoster(client=Client(), secret=SECRET).post(event).status_code

    statuses = in_threads([confirm_page, webhook, confirm_page, webhook])

    assert statuses == [302, 200, 302, 200]
    user.refresh_from_db()
    assert user.subscription is not None and user.subscription.status == "active"
    assert Subscription.objects.filter(customer=user.customer).count() == 1
    assert live_subscriptions_at_stripe(user.customer.id) == [user.subscription.id]
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert (stored.status, stored.attempts) == (WebhookEvent.Status.PROCESSED, 1)


@pytest.mark.django_db(transaction=True)
def test_two_paid_checkouts_racing_leave_one_live_subscription(offered_price, stripe_settings):
    # Two tabs, both paid: whichever confirm or webhook lands first, the holder keeps one
    # subscription and the other is canceled at Stripe (and logged for a refund).
    user = User.objects.create_user(email=f"tabs-{uuid.uuid4().hex[:6]}@example.com")
    since = server_now(stripe_settings)
    first, second = paid_checkout(user, offered_price), paid_checkout(user, offered_price)
    events = [completed_event(since, first), completed_event(since, second)]

    def confirm_page(session_id: str) -> Callable[[], int]:
        browser = logged_in(user)  # logged in before the race starts
        return lambda: browser.get(f"/subscription/confirm/?session_id={session_id}").status_code

    def webhook(event: dict) -> Callable[[], int]:
        return lambda: WebhookPoster(client=Client(), secret=SECRET).post(event).status_code

    statuses = in_threads(
        [confirm_page(first), confirm_page(second), webhook(events[0]), webhook(events[1])]
    )

    assert statuses == [302, 302, 200, 200]
    user.refresh_from_db()
    assert user.subscription.status == "active"
    assert live_subscriptions_at_stripe(user.customer.id) == [user.subscription.id]
    local = Subscription.objects.filter(customer=user.customer)
    assert sorted(subscription.status for subscription in local) == ["active", "canceled"]


@pytest.mark.django_db(transaction=True)
def test_a_2000_event_burst_with_duplicates_loses_nothing(stripe_settings, webhook_secret):
    client = stripe_client()
    products = [
        client.v1.products.create(params={"name": f"Burst {uuid.uuid4().hex[:8]}"})
        for _ in range(20)
    ]
    for product in products[::2]:  # the state the events should leave here
        client.v1.products.update(product.id, params={"name": product.name + " renamed"})
    rng = random.Random(2000)  # noqa: S311 - a reproducible order, not a secret
    now = int(time.time())

    events = [
        burst_event(number, products=products, rng=rng, now=now, prefix="burst")
        for number in range(BURST)
    ]
    deliveries = events + rng.sample(events, BURST // 4)  # a quarter delivered twice
    rng.shuffle(deliveries)
    senders = [WebhookPoster(client=Client(), secret=SECRET) for _ in range(8)]

    def deliver(numbered: tuple[int, dict]) -> int:
        number, event = numbered
        try:
            return senders[number % len(senders)].post(event).status_code
        finally:
            close_old_connections()

    started = time.perf_counter()
    with ThreadPoolExecutor(len(senders)) as pool:
        statuses = list(pool.map(deliver, enumerate(deliveries)))
    elapsed = time.perf_counter() - started
    print(f"{len(deliveries)} deliveries of {BURST} events acknowledged in {elapsed:.1f}s")

    assert set(statuses) == {200}
    stored = WebhookEvent.objects.filter(stripe_id__startswith="evt_burst_")
    assert stored.count() == BURST
    # Anything not processed yet (its thread still busy when the test looked) is processed now,
    # as the retry task would; nothing may need more than one attempt.
    for pk in stored.exclude(status=WebhookEvent.Status.PROCESSED).values_list("pk", flat=True):
        webhook_event_process(event_pk=pk)
    assert set(stored.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}
    assert set(stored.values_list("attempts", flat=True)) == {1}
    for product in products:
        remote = client.v1.products.retrieve(product.id)
        assert Product.objects.get(id=product.id).name == remote.name


@pytest.mark.django_db
def test_stripe_unreachable_while_processing_fails_the_event_for_a_later_retry(
    webhook_secret, stripe_settings, settings, monkeypatch
):
    product = stripe_client().v1.products.create(params={"name": f"Down {uuid.uuid4().hex[:6]}"})
    event = {
        "id": f"evt_down_{uuid.uuid4().hex}",
        "object": "event",
        "type": "product.updated",
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2026-08-26.dahlia",
        "data": {"object": json.loads(json.dumps(product.to_dict()))},
    }
    down = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setattr(stripe, "api_base", down)
    settings.STRIPE_API_BASE = down
    monkeypatch.setattr(stripe, "max_network_retries", 0)

    response = WebhookPoster(client=Client(), secret=SECRET).post(event)

    # Stripe gets its acknowledgement at once; the event waits, failed, with the reason.
    assert response.status_code == 200
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert stored.status == WebhookEvent.Status.FAILED
    assert stored.next_attempt_at is not None
    assert "Connection" in stored.last_error or "connect" in stored.last_error.lower()
    assert not Product.objects.filter(id=product.id).exists()

    monkeypatch.setattr(stripe, "api_base", stripe_settings.api_base)
    settings.STRIPE_API_BASE = stripe_settings.api_base
    assert webhook_event_process(event_pk=stored.pk).status == WebhookEvent.Status.PROCESSED
    assert Product.objects.filter(id=product.id).exists()
