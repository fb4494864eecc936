"""Billing snapshots over a mix of subscriptions made in the local Stripe server: MRR and its
movements checked against arithmetic written out here."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.billing.checkout import holder_subscription_sync
from accounts.metrics.models import BillingSnapshot, MrrSnapshot, SubscriptionMrr
from accounts.metrics.services import SnapshotOrderError, billing_snapshot_take
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import (
    DAY,
    clock_customer_create,
    plan_price_create,
    unique,
)
from tests.accounts.metrics.conftest import Mix, holder_create, named_price

pytestmark = pytest.mark.django_db

# Each subscription's MRR in cents, worked out by hand (see `mix_make`).
TIERED = 5 * 1000 + 2 * 800  # 7 seats, graduated
PACKAGE = 3 * 5000  # 23 seats: 3 packs of 10, rounded up
YEARLY = 4167  # 500.00 / 12 = 41.666... -> 41.67
DISCOUNTED = 3000 - 600  # 20% off 30.00
ONCE = 2000  # a once coupon is not recurring
PAST_DUE = 4000
CANCELING = 1500
PAYING = ("tiered", "package", "yearly", "discounted", "once", "past_due", "canceling", "euros")
USD_MRR = TIERED + PACKAGE + YEARLY + DISCOUNTED + ONCE + PAST_DUE + CANCELING  # 35,667


def currency_row(day, currency: str) -> MrrSnapshot:
    return MrrSnapshot.objects.get(snapshot__date=day, currency=currency)


def test_a_snapshot_counts_each_subscription_as_the_definitions_say(mix: Mix) -> None:
    now = timezone.now()

    report = billing_snapshot_take(now=now)

    usd = currency_row(report.date, "usd")
    assert usd.mrr == USD_MRR == 35667
    assert usd.subscribers == 7
    assert usd.by_plan == {
        mix.prices["tiered"].product.id: TIERED,
        mix.prices["package"].product.id: PACKAGE,
        mix.prices["yearly"].product.id: YEARLY,
        mix.prices["discounted"].product.id: DISCOUNTED,
        mix.prices["once"].product.id: ONCE,
        mix.prices["past_due"].product.id: PAST_DUE,
        mix.prices["canceling"].product.id: CANCELING,
    }
    euros = currency_row(report.date, "eur")
    assert (euros.mrr, euros.subscribers) == (2000, 1)
    snapshot = BillingSnapshot.objects.get(date=report.date)
    assert snapshot.trials_running == 1
    # The first snapshot opens the books: no movements, every paying subscription its opening.
    assert snapshot.opening
    assert (usd.new, usd.expansion, usd.contraction, usd.churn) == (0, 0, 0, 0)
    assert set(
        SubscriptionMrr.objects.filter(snapshot=snapshot).values_list("subscription_id", "kind")
    ) == {(mix.subscriptions[kind], "opening") for kind in PAYING}


def test_the_next_days_snapshot_has_each_subscriptions_movement(mix: Mix) -> None:
    now = timezone.now()
    yesterday = billing_snapshot_take(now=now - timedelta(days=1))

    mix.seats_set("tiered", 9)  # 5 x 10.00 + 4 x 8.00 = 82.00: +16.00
    mix.seats_set("package", 15)  # 2 packs = 100.00: -50.00
    mix.cancel("canceling")  # -15.00
    mix.start("new", plan_price_create(unit_amount=1200))
    today = billing_snapshot_take(now=now)

    assert today.date == yesterday.date + timedelta(days=1)
    usd = currency_row(today.date, "usd")
    assert (usd.new, usd.expansion, usd.contraction, usd.churn) == (1200, 1600, 5000, 1500)
    assert usd.mrr == 35667 + 1200 + 1600 - 5000 - 1500 == 31967
    assert usd.subscribers == 7
    euros = currency_row(today.date, "eur")
    assert (euros.mrr, euros.new, euros.churn) == (2000, 0, 0)
    changes = {
        row.subscription_id: (row.kind, row.previous_mrr, row.mrr)
        for row in SubscriptionMrr.objects.filter(snapshot__date=today.date)
    }
    assert changes == {
        mix.subscriptions["tiered"]: ("expansion", 6600, 8200),
        mix.subscriptions["package"]: ("contraction", 15000, 10000),
        mix.subscriptions["canceling"]: ("churn", 1500, 0),
        mix.subscriptions["new"]: ("new", 0, 1200),
    }


def test_taking_todays_snapshot_again_replaces_it_and_a_past_day_is_refused(mix: Mix) -> None:
    now = timezone.now()
    billing_snapshot_take(now=now - timedelta(days=1))
    billing_snapshot_take(now=now)
    mix.seats_set("tiered", 6)  # 5 x 10.00 + 8.00 = 58.00: -8.00 since yesterday

    again = billing_snapshot_take(now=now)

    usd = currency_row(again.date, "usd")
    assert (usd.mrr, usd.contraction) == (35667 - 800, 800)
    assert BillingSnapshot.objects.filter(date=again.date).count() == 1
    with pytest.raises(SnapshotOrderError, match="date order"):
        billing_snapshot_take(now=now - timedelta(days=1))


def test_a_metered_item_counts_for_nothing(stripe_settings) -> None:
    client = stripe_client()
    meter = client.v1.billing.meters.create(
        params={
            "display_name": "API calls",
            "event_name": unique("mrr_calls").replace("-", "_"),
            "default_aggregation": {"formula": "sum"},
        }
    )
    flat = named_price("Metered", unit_amount=2000)
    metered = plan_price_create(
        unit_amount=None,
        product=flat.product.id,
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.id},
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[{"up_to": 1000, "unit_amount": 0}, {"up_to": "inf", "unit_amount_decimal": "0.5"}],
    )
    holder = holder_create("metered")
    clock_customer_create(holder=holder, frozen_time=int(time.time()) - 2 * DAY)
    client.v1.subscriptions.create(
        params={
            "customer": holder.customer.id,
            "items": [{"price": flat.id}, {"price": metered.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    holder_subscription_sync(holder=holder)

    report = billing_snapshot_take()

    assert report.mrr == {"usd": 2000}  # the flat 20.00; the API calls bill what was used
    assert currency_row(report.date, "usd").by_plan == {flat.product.id: 2000}
