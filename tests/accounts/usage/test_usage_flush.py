"""`usage_flush`: recorded usage reaches Stripe's meter once, and is billed at the period's end
to the cent, whatever fails on the way."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.billing.checkout import holder_customer_ensure
from accounts.models import UsageBatch, UsageRecord, User
from accounts.usage import usage_flush, usage_record
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import DAY, clock_customer_create
from tests.accounts.usage.conftest import metered_plan_create, metered_subscription_start

pytestmark = pytest.mark.django_db


def _summed(customer_id: str, meter_id: str, start: int, end: int) -> Decimal:
    """What Stripe's meter counted for the customer between two times (its event summary)."""
    summaries = stripe_client().v1.billing.meters.event_summaries.list(
        meter_id,
        params={
            "customer": customer_id,
            "start_time": start - start % 60,
            "end_time": end - end % 60 + 60,
            "limit": 100,
        },
    )
    return sum((Decimal(str(s.aggregated_value)) for s in summaries.auto_paging_iter()), Decimal(0))


@pytest.fixture
def subscriber(api_meter):
    """A user on a test clock frozen now, subscribed to a plan whose API calls are metered:
    1,000 included, then half a cent each."""
    user = User.objects.create_user(email=f"{api_meter.event_name}@example.com")
    clock = clock_customer_create(holder=user, frozen_time=int(time.time()))
    plan = metered_plan_create(meter=api_meter, included=1000, tenths_of_a_cent=5, flat=2000)
    metered_subscription_start(holder=user, plan=plan)
    return user, clock, plan


def test_usage_is_sent_once_and_billed_on_the_renewal_invoice(subscriber) -> None:
    user, clock, plan = subscriber
    started = int(time.time())
    for value in (700, 800, 523):
        usage_record(holder=user, meter="api_calls", value=value)

    report = usage_flush()

    assert report.sent >= 1 and report.failed == 0 and report.waiting == 0
    assert not UsageRecord.objects.filter(batch__isnull=True).exists()
    assert _summed(user.customer.id, plan.meter_id, started, int(time.time())) == Decimal(2023)
    # A second flush has nothing to send.
    assert usage_flush().sent == 0

    client = stripe_client()
    client.v1.test_helpers.test_clocks.advance(
        clock.id, params={"frozen_time": clock.frozen_time + 32 * DAY}
    )
    invoices = client.v1.invoices.list(
        params={"subscription": user.subscription.id, "limit": 10}
    ).data
    renewal = max(invoices, key=lambda invoice: invoice.created)
    usage_lines = [
        line for line in renewal.lines.data if line.pricing.price_details.price == plan.metered.id
    ]
    # 2,023 calls: 1,000 free, 1,023 at half a cent = 511.5 cents, rounded half up.
    expected_usage = int((Decimal(1023) * Decimal("0.5")).quantize(Decimal(1), ROUND_HALF_UP))
    assert expected_usage == 512
    assert sum(line.amount for line in usage_lines) == expected_usage
    assert renewal.total == 2000 + expected_usage


def test_stripe_refusing_a_batch_as_already_counted_marks_it_sent(subscriber) -> None:
    """A worker killed after Stripe took a batch and before it wrote so: the next flush sends
    it again under the same identifier, and Stripe counts it once."""
    user, _, plan = subscriber
    started = int(time.time())
    usage_record(holder=user, meter="api_calls", value=42)
    usage_flush()
    batch = UsageBatch.objects.get(customer_id=user.customer_id)
    # As the killed worker left it: sent to Stripe, not marked sent here.
    UsageBatch.objects.filter(pk=batch.pk).update(sent_at=None)

    report = usage_flush()

    assert (report.sent, report.already_counted) == (0, 1)
    assert UsageBatch.objects.get(pk=batch.pk).sent_at is not None
    assert _summed(user.customer.id, plan.meter_id, started, int(time.time())) == Decimal(42)


def test_usage_of_a_holder_without_a_metered_subscription_is_kept_and_reported(
    api_meter, stripe_settings, capsys
) -> None:
    user = User.objects.create_user(email="no-meter@example.com")
    holder_customer_ensure(holder=user)
    usage_record(holder=user, meter="api_calls", value=5)

    report = usage_flush()

    assert report.sent == 0
    assert report.held == {(user.customer.id, "api_calls"): (1, Decimal(5))}
    assert UsageRecord.objects.filter(batch__isnull=True).count() == 1
    call_command("usage_flush")
    assert (
        f"Kept, not sent: 5 api_calls (1 record(s)) of {user.customer.id}"
        in capsys.readouterr().out
    )


def test_a_batch_stripe_refuses_fails_alone_and_the_rest_go_on(subscriber, api_meter) -> None:
    user, _, plan = subscriber
    other = User.objects.create_user(email=f"other-{api_meter.event_name}@example.com")
    clock_customer_create(holder=other, frozen_time=int(time.time()))
    metered_subscription_start(holder=other, plan=plan)
    usage_record(holder=user, meter="api_calls", value=1)
    usage_record(holder=other, meter="api_calls", value=2)
    # The first holder's record is older than Stripe's meters take (35 days): Stripe refuses
    # its batch, which comes first.
    UsageRecord.objects.filter(customer_id=user.customer_id).update(
        recorded_at=timezone.now() - timedelta(days=40)
    )

    with pytest.raises(CommandError, match="refused 1 batch"):
        call_command("usage_flush")

    failed = UsageBatch.objects.get(customer_id=user.customer_id)
    assert failed.error and failed.sent_at is None
    assert UsageBatch.objects.get(customer_id=other.customer_id).sent_at is not None
    # A refused batch is not sent again.
    report = usage_flush()
    assert (report.sent, report.failed) == (0, 0)


def test_the_admin_lists_batches_with_stripes_reason_and_records(subscriber, admin_client) -> None:
    user, _, _ = subscriber
    usage_record(holder=user, meter="api_calls", value=3)
    UsageRecord.objects.update(recorded_at=timezone.now() - timedelta(days=40))
    usage_flush()

    batches = admin_client.get("/admin/accounts/usagebatch/")
    records = admin_client.get("/admin/accounts/usagerecord/?batch__isempty=0")

    assert batches.status_code == records.status_code == 200
    assert "35 days" in batches.content.decode()
    assert admin_client.get("/admin/accounts/usagebatch/add/").status_code == 403
