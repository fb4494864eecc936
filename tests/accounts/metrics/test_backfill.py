"""`billing_snapshot --backfill`: past days rebuilt from the stored webhook events (and, without
events, from dj-stripe's rows), checked day by day against arithmetic written out here; the
command's output and its refusals."""

from __future__ import annotations

import io
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.billing.checkout import holder_subscription_sync
from accounts.metrics.models import BillingSnapshot, MrrSnapshot, SubscriptionMrr
from accounts.metrics.services import billing_snapshots_backfill
from accounts.tasks import billing_snapshot_task
from accounts.webhooks.services.receiving import webhook_event_store
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import DAY, clock_customer_create, plan_price_create
from tests.accounts.metrics.conftest import holder_create
from tests.accounts.webhooks.webhook_helpers import events_since

pytestmark = pytest.mark.django_db


def day_of(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, tz=UTC).date()


def usd_mrr(day: date) -> int:
    row = MrrSnapshot.objects.filter(snapshot__date=day, currency="usd").first()
    return row.mrr if row is not None else 0


def test_a_backfill_rebuilds_each_day_from_the_events_and_the_rows(stripe_settings) -> None:
    # Noon, 60 days ago: every day below is in the past, on the customers' own clocks.
    midnight = int(time.time()) // DAY * DAY
    start = midnight - 60 * DAY + 12 * 3600
    client = stripe_client()
    seat = plan_price_create(unit_amount=1000)

    # With events: 2 seats at 10.00 (20.00), 5 seats from day 10 (50.00), canceled on day 20.
    stored = holder_create("events")
    clock = clock_customer_create(holder=stored, frozen_time=start)
    subscription = client.v1.subscriptions.create(
        params={
            "customer": stored.customer.id,
            "items": [{"price": seat.id, "quantity": 2}],
            "default_payment_method": "pm_card_visa",
        }
    )
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": start + 10 * DAY})
    client.v1.subscriptions.update(
        subscription.id,
        params={
            "items": [{"id": subscription["items"].data[0].id, "quantity": 5}],
            "proration_behavior": "none",
        },
    )
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": start + 20 * DAY})
    client.v1.subscriptions.cancel(subscription.id)
    for event in events_since(start - DAY, object_ids={subscription.id}):
        webhook_event_store(payload=event)

    # Without events, from its row alone: a 7-day trial from day 5, then 30.00 a month.
    row_only = holder_create("row-only")
    trial_clock = clock_customer_create(holder=row_only, frozen_time=start + 5 * DAY)
    trial_price = plan_price_create(unit_amount=3000)
    client.v1.subscriptions.create(
        params={
            "customer": row_only.customer.id,
            "items": [{"price": trial_price.id}],
            "default_payment_method": "pm_card_visa",
            "trial_period_days": 7,
        }
    )
    client.v1.test_helpers.test_clocks.advance(
        trial_clock.id, params={"frozen_time": start + 15 * DAY}
    )
    holder_subscription_sync(holder=stored)
    holder_subscription_sync(holder=row_only)

    first = day_of(start) - timedelta(days=1)
    now = datetime.fromtimestamp(start + 30 * DAY, tz=UTC)
    report = billing_snapshots_backfill(since=first, now=now)

    assert report.first == first
    assert report.days == 32  # the day before the start, 30 days, and the day of `now`
    expected = {
        first: 0,
        day_of(start): 2000,
        day_of(start + 5 * DAY): 2000,  # the trial counts for nothing
        day_of(start + 10 * DAY - DAY): 2000,
        day_of(start + 10 * DAY): 5000,
        day_of(start + 12 * DAY): 5000 + 3000,  # the trial ended on day 12: paying
        day_of(start + 20 * DAY): 3000,
        day_of(start + 30 * DAY): 3000,
    }
    assert {day: usd_mrr(day) for day in expected} == expected
    assert BillingSnapshot.objects.get(date=day_of(start + 6 * DAY)).trials_running == 1
    assert BillingSnapshot.objects.get(date=day_of(start + 13 * DAY)).trials_running == 0
    kinds = list(
        SubscriptionMrr.objects.order_by("snapshot__date", "pk").values_list(
            "snapshot__date", "kind", "previous_mrr", "mrr"
        )
    )
    assert kinds == [
        (day_of(start), "new", 0, 2000),
        (day_of(start + 10 * DAY), "expansion", 2000, 5000),
        (day_of(start + 12 * DAY), "new", 0, 3000),
        (day_of(start + 20 * DAY), "churn", 5000, 0),
    ]
    totals = [
        sum(MrrSnapshot.objects.values_list(kind, flat=True))
        for kind in ("new", "expansion", "contraction", "churn")
    ]
    assert totals == [2000 + 3000, 3000, 0, 5000]
    assert not BillingSnapshot.objects.filter(opening=True).exists()


def test_the_command_takes_todays_snapshot_and_says_so(stripe_settings) -> None:
    output = io.StringIO()

    call_command("billing_snapshot", stdout=output)

    assert f"Snapshot of {timezone.localdate()}" in output.getvalue()
    assert BillingSnapshot.objects.filter(date=timezone.localdate()).exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--since", "2026-01-01"], "--since goes with --backfill"),
        (["--backfill", "--since", "yesterday"], "a date such as 2026-01-31"),
        (["--backfill", "--since", "2999-01-01"], "is in the future"),
    ],
)
def test_the_command_refuses_what_it_cannot_do(arguments, message) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("billing_snapshot", *arguments, stdout=io.StringIO())


def test_a_snapshot_before_the_latest_one_is_refused_with_what_to_do(stripe_settings) -> None:
    tomorrow = timezone.now() + timedelta(days=1)
    BillingSnapshot.objects.create(date=timezone.localdate(tomorrow), taken_at=tomorrow)

    with pytest.raises(CommandError, match="--backfill --since"):
        call_command("billing_snapshot", stdout=io.StringIO())


def test_celery_beat_takes_todays_snapshot_every_hour(stripe_settings, settings) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["billing-snapshot"]
    assert entry["task"] == billing_snapshot_task.name
    assert entry["schedule"] == 3600.0

    assert billing_snapshot_task.delay().get() == 0  # no subscription in this database
    assert BillingSnapshot.objects.filter(date=timezone.localdate()).exists()
