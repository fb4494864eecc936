"""A mix of subscriptions made in the local Stripe server, for the billing metrics' tests.

Each holder's customer is on a test clock of its own, frozen two days ago, so every date Stripe
gives them (starts, discounts, periods) is before now, whatever other tests did to the
server's own clock; snapshots are then taken yesterday and today.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from djstripe.models import Price

from accounts.billing.checkout import holder_subscription_sync
from accounts.models import User
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import (
    DAY,
    clock_customer_create,
    past_due_subscription_start,
    plan_price_create,
    subscription_start,
)


def holder_create(prefix: str) -> User:
    return User.objects.create_user(
        email=f"{prefix}-{uuid.uuid4().hex[:8]}@example.com", password="a-long-passphrase"
    )


@dataclass
class Mix:
    """The subscriptions made, by what they are, with their holders and prices."""

    created_at: int
    subscriptions: dict[str, str] = field(default_factory=dict)
    holders: dict[str, User] = field(default_factory=dict)
    prices: dict[str, Price] = field(default_factory=dict)

    def start(self, kind: str, price: Price, *, quantity: int = 1, **extra: Any) -> str:
        holder = holder_create(kind.replace("_", "-"))
        clock_customer_create(holder=holder, frozen_time=self.created_at)
        subscription_id = subscription_start(holder=holder, price=price, quantity=quantity, **extra)
        holder.refresh_from_db()
        self.subscriptions[kind], self.holders[kind], self.prices[kind] = (
            subscription_id,
            holder,
            price,
        )
        return subscription_id

    def update(self, kind: str, **params: Any) -> None:
        """Change a subscription in Stripe, then read it in again as Portal does."""
        stripe_client().v1.subscriptions.update(self.subscriptions[kind], params=params)
        holder_subscription_sync(holder=self.holders[kind])

    def seats_set(self, kind: str, quantity: int) -> None:
        subscription = stripe_client().v1.subscriptions.retrieve(self.subscriptions[kind])
        item_id = subscription["items"].data[0].id
        self.update(kind, items=[{"id": item_id, "quantity": quantity}], proration_behavior="none")

    def cancel(self, kind: str) -> None:
        stripe_client().v1.subscriptions.cancel(self.subscriptions[kind])
        holder_subscription_sync(holder=self.holders[kind])


def named_price(name: str, **params: Any) -> Price:
    """A price of a new product called `name` (the dashboard names plans by their product)."""
    product = stripe_client().v1.products.create(params={"name": name})
    return plan_price_create(product=product.id, **params)


def mix_make() -> Mix:
    """Per month, in USD: a graduated tiered plan at 7 seats (5 x 10.00 + 2 x 8.00 = 66.00), a
    package plan at 23 seats (3 packs of 10 at 50.00 = 150.00), a yearly plan (500.00 a year),
    a 30.00 plan with 20% off for 3 months (24.00), a 20.00 plan with 10.00 off once (20.00:
    once coupons are not recurring), a 40.00 plan past due, a 15.00 plan set to cancel at its
    period's end, a 50.00 plan in a 14-day trial and a 9.00 plan canceled; and a 20.00 plan in
    EUR."""
    mix = Mix(created_at=int(time.time()) - 2 * DAY)
    client = stripe_client()
    mix.start(
        "tiered",
        named_price(
            "Team",
            unit_amount=None,
            billing_scheme="tiered",
            tiers_mode="graduated",
            tiers=[{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}],
        ),
        quantity=7,
    )
    mix.start(
        "package",
        named_price(
            "Seat packs", unit_amount=5000, transform_quantity={"divide_by": 10, "round": "up"}
        ),
        quantity=23,
    )
    mix.start("yearly", named_price("Enterprise", unit_amount=50000, interval="year"))
    repeating = client.v1.coupons.create(
        params={"percent_off": 20, "duration": "repeating", "duration_in_months": 3}
    )
    mix.start(
        "discounted", named_price("Growth", unit_amount=3000), discounts=[{"coupon": repeating.id}]
    )
    once = client.v1.coupons.create(
        params={"amount_off": 1000, "currency": "usd", "duration": "once"}
    )
    mix.start("once", named_price("Starter", unit_amount=2000), discounts=[{"coupon": once.id}])
    past_due_holder = holder_create("past-due")
    past_due_price = named_price("Business", unit_amount=4000)
    mix.subscriptions["past_due"] = past_due_subscription_start(
        holder=past_due_holder, price=past_due_price
    )
    past_due_holder.refresh_from_db()
    mix.holders["past_due"], mix.prices["past_due"] = past_due_holder, past_due_price
    mix.start("canceling", named_price("Basic", unit_amount=1500))
    mix.update("canceling", cancel_at_period_end=True)
    mix.start("trialing", named_price("Pro", unit_amount=5000), trial_period_days=14)
    mix.start("canceled", named_price("Legacy", unit_amount=900))
    mix.cancel("canceled")
    mix.start("euros", named_price("Europe", unit_amount=2000, currency="eur"))
    return mix


@pytest.fixture
def mix(stripe_settings) -> Mix:
    return mix_make()
