"""Delivery faults: the server's events, posted duplicated, shuffled and with some dropped.

The local Stripe server's own fault knobs are not there yet, so these tests fetch its events
from `/v1/events` and deliver them to the endpoint themselves, signed with the endpoint secret,
in the faulty order.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from djstripe.models import Customer, Price, Product, Subscription, SubscriptionItem

from accounts.webhooks.models import WebhookEvent
from portal.stripe_client import stripe_client
from tests.accounts.webhooks.webhook_helpers import (
    events_since,
    fresh_second,
    server_now,
    unique,
)

pytestmark = pytest.mark.django_db

EVENTS = 500


@dataclass
class History:
    """What a test did on the server: the ids of everything it touched."""

    products: list[str] = field(default_factory=list)
    prices: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)

    def owns(self, event: dict[str, Any]) -> bool:
        obj = event["data"]["object"]
        ids = {*self.products, *self.prices, *self.customers, *self.subscriptions}
        return obj.get("id") in ids or obj.get("customer") in self.customers


def history_make(local_stripe, *, events: int) -> tuple[History, list[dict[str, Any]]]:
    """Create, change and delete things until the server has emitted `events` events about
    them; return what was touched and those events, oldest first."""
    client = stripe_client()
    since = server_now(local_stripe)
    history = History()
    rng = random.Random(  # noqa: S311 - a reproducible order, not a secret
        20
    )
    round_ = 0
    while True:
        round_ += 1
        product = client.v1.products.create(params={"name": unique("Fault")})
        history.products.append(product.id)
        price = client.v1.prices.create(
            params={
                "product": product.id,
                "currency": "usd",
                "unit_amount": 500 + round_,
                "recurring": {"interval": "month"},
            }
        )
        history.prices.append(price.id)
        for version in range(3):
            client.v1.products.update(
                product.id, params={"name": f"{product.name} v{version}", "active": version != 1}
            )
        client.v1.prices.update(price.id, params={"nickname": f"n{round_}"})
        if round_ % 4 == 0:
            spare = client.v1.products.create(params={"name": unique("Spare")})
            history.products.append(spare.id)
            client.v1.products.update(spare.id, params={"name": spare.name + " renamed"})
            client.v1.products.delete(spare.id)
        if round_ % 3 == 0:
            customer = client.v1.customers.create(params={"email": f"c{round_}@example.com"})
            history.customers.append(customer.id)
            client.v1.customers.update(customer.id, params={"name": f"Customer {round_}"})
            client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
            subscription = client.v1.subscriptions.create(
                params={
                    "customer": customer.id,
                    "items": [{"price": price.id, "quantity": rng.randint(1, 4)}],
                    "default_payment_method": "pm_card_visa",
                }
            )
            history.subscriptions.append(subscription.id)
            if round_ % 2 == 0:
                client.v1.subscriptions.update(subscription.id, params={"metadata": {"r": "1"}})
            if round_ % 9 == 0:
                client.v1.subscriptions.cancel(subscription.id)
        if round_ % 10:
            continue
        found = [event for event in events_since(since) if history.owns(event)]
        if len(found) >= events:
            return history, found


def assert_local_state_equals_stripe(history: History) -> None:
    client = stripe_client()
    for product_id in history.products:
        local = Product.objects.filter(id=product_id).first()
        try:
            remote = client.v1.products.retrieve(product_id)
        except Exception:  # deleted at Stripe
            assert local is None, f"{product_id} was deleted at Stripe but not here"
            continue
        assert local is not None, f"{product_id} is missing here"
        assert (local.name, local.active) == (remote.name, remote.active)
    for price_id in history.prices:
        remote = client.v1.prices.retrieve(price_id)
        local = Price.objects.get(id=price_id)
        assert (local.active, local.unit_amount, local.nickname) == (
            remote.active,
            remote.unit_amount,
            remote.nickname,
        )
    for customer_id in history.customers:
        remote = client.v1.customers.retrieve(customer_id)
        local = Customer.objects.get(id=customer_id)
        assert (local.email, local.name) == (remote.email, remote.name)
    for subscription_id in history.subscriptions:
        remote = client.v1.subscriptions.retrieve(subscription_id)
        local = Subscription.objects.get(id=subscription_id)
        [item] = SubscriptionItem.objects.filter(subscription=local)
        assert (local.status, item.quantity, local.metadata) == (
            remote.status,
            remote["items"].data[0].quantity,
            remote.metadata.to_dict(),
        )


def test_500_events_duplicated_and_shuffled_leave_local_state_equal_to_stripes(
    poster, stripe_settings
):
    history, events = history_make(stripe_settings, events=EVENTS)
    rng = random.Random(  # noqa: S311 - a reproducible order, not a secret
        500
    )
    deliveries = events + rng.sample(events, len(events) // 4)  # a quarter twice
    rng.shuffle(deliveries)

    statuses = {poster.post(event).status_code for event in deliveries}

    assert statuses == {200}
    stored = WebhookEvent.objects.filter(stripe_id__in=[event["id"] for event in events])
    assert stored.count() == len(events)
    assert set(stored.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}
    assert set(stored.values_list("attempts", flat=True)) == {1}  # each processed once
    assert_local_state_equals_stripe(history)


def test_with_a_fifth_dropped_reconciliation_restores_stripes_state_and_warns(
    poster, stripe_settings, settings
):
    settings.ADMINS = [("ops", "ops@example.com")]
    since = fresh_second(stripe_settings)
    history, events = history_make(stripe_settings, events=EVENTS)
    rng = random.Random(  # noqa: S311 - a reproducible order, not a secret
        80
    )
    # Drop every event of two customers (so they are missing here), and others at random.
    lost = set(history.customers[:2])
    dropped = [
        e
        for e in events
        if e["data"]["object"].get("id") in lost or e["data"]["object"].get("customer") in lost
    ]
    others = [e for e in events if e not in dropped]
    dropped += rng.sample(others, len(events) // 5 - len(dropped))
    dropped_ids = {event["id"] for event in dropped}
    delivered = [event for event in events if event["id"] not in dropped_ids]
    rng.shuffle(delivered)
    for event in delivered:
        assert poster.post(event).status_code == 200
    assert not Customer.objects.filter(id__in=lost).exists()

    # Until now by the server's clock: other tests' clocks may have dated events later.
    until = str(server_now(stripe_settings))
    with pytest.raises(CommandError, match="More than 20 events were pending"):
        call_command("check_pending_webhooks", "--since", str(since), "--until", until)

    stored = WebhookEvent.objects.filter(stripe_id__in=dropped_ids)
    assert stored.count() == len(dropped_ids)
    assert set(stored.values_list("source", flat=True)) == {WebhookEvent.Source.RECONCILE}
    assert set(stored.values_list("status", flat=True)) == {WebhookEvent.Status.PROCESSED}
    assert_local_state_equals_stripe(history)
    [warning] = mail.outbox
    assert warning.to == ["ops@example.com"]
    reported = re.search(r"(\d+) Stripe webhook events were pending", warning.subject)
    # At least the dropped ones: the shared server's own renewals (other tests' subscriptions)
    # may have made events since too.
    assert reported is not None and int(reported.group(1)) >= len(dropped_ids)

    # Nothing is pending any more: a second run is quiet and succeeds.
    mail.outbox.clear()
    call_command("check_pending_webhooks", "--since", str(since), "--until", until)
    assert mail.outbox == []
