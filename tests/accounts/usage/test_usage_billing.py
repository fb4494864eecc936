"""Usage billing through Portal's pages: Checkout and plan changes carry the metered prices,
the status page shows this period's use and Stripe's bill so far, limits refuse past them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.urls import reverse

from accounts.billing.checkout import (
    checkout_session_create,
    holder_customer_ensure,
    holder_subscription_sync,
)
from accounts.billing.plan_changes import plan_change_apply, plan_change_plan
from accounts.billing.state import billing_state
from accounts.models import UsageRecord
from accounts.usage import usage_flush, usage_record, usage_within_limit
from portal.stripe_client import stripe_client
from pricing.catalog import offer_for_plan
from tests.accounts.gating_support import demo_plans_ensure, demo_price, user_create
from tests.accounts.usage.conftest import demo_meter_synced, demo_metered_subscribe

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def demo(stripe_settings):
    demo_plans_ensure(stripe_settings.api_base)
    demo_meter_synced()
    for slug in ("basic", "starter", "pro"):
        demo_price(slug)
    for slug in ("starter", "pro"):
        demo_price(f"{slug}_api_calls")


def _items(subscription_id: str) -> set[str]:
    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)
    return {item.price.id for item in subscription["items"].data}


def test_checkout_subscribes_to_the_plans_metered_price_too(demo) -> None:
    user = user_create("usage-checkout")
    starter = demo_price("starter")
    url = checkout_session_create(
        holder=user,
        price_id=starter.id,
        quantity=1,
        success_url="http://testserver/ok",
        cancel_url="http://testserver/no",
    )
    client = stripe_client()
    [session] = [
        found
        for found in client.v1.checkout.sessions.list(params={"customer": user.customer.id}).data
        if found.url == url
    ]
    lines = client.v1.checkout.sessions.line_items.list(session.id).data
    assert {line.price.id for line in lines} == {starter.id, demo_price("starter_api_calls").id}


def test_an_upgrade_moves_usage_to_the_new_plans_metered_price(demo) -> None:
    user = user_create("usage-upgrade")
    subscription_id = demo_metered_subscribe(user, "starter")
    offer = offer_for_plan(slug="pro", interval="month")

    plan_change_apply(
        plan=plan_change_plan(state=billing_state(holder=user), offer=offer, quantity=1),
        proration_date=None,
    )

    assert _items(subscription_id) == {demo_price("pro").id, demo_price("pro_api_calls").id}


def test_a_downgrade_to_a_plan_without_usage_drops_the_metered_item_at_period_end(demo) -> None:
    user = user_create("usage-downgrade")
    subscription_id = demo_metered_subscribe(user, "starter")
    offer = offer_for_plan(slug="basic", interval="month")

    plan_change_apply(
        plan=plan_change_plan(state=billing_state(holder=user), offer=offer, quantity=1),
        proration_date=None,
    )

    # Until the period's end, both items stay; the schedule's next phase has Basic alone.
    assert _items(subscription_id) == {demo_price("starter").id, demo_price("starter_api_calls").id}
    schedule_id = stripe_client().v1.subscriptions.retrieve(subscription_id).schedule
    phases = stripe_client().v1.subscription_schedules.retrieve(schedule_id).phases
    assert [item.price for item in phases[-1]["items"]] == [demo_price("basic").id]


def test_the_status_page_shows_the_periods_usage_and_stripes_bill_so_far(demo, client) -> None:
    user = user_create("usage-status")
    demo_metered_subscribe(user, "starter")
    usage_record(holder=user, meter="api_calls", value=12_345)
    assert usage_flush().sent == 1
    client.force_login(user)

    page = client.get(reverse("accounts:subscription"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "12,345 API calls" in html
    assert "data-included>10,000<" in html
    assert "data-billable>2,345<" in html
    # Starter: $25 for the next month, and 2,345 calls past the 10,000 included at $0.002.
    usage = int((Decimal(2345) * Decimal("0.2")).quantize(Decimal(1), ROUND_HALF_UP))
    assert usage == 469
    assert "Estimated bill so far: <strong data-estimate-amount>$29.69</strong>" in html
    assert "of which usage $4.69" in html
    # The panel polls itself.
    panel = client.get(reverse("accounts:subscription_usage"), **HX)
    assert panel.status_code == 200
    assert 'hx-trigger="every 5s"' in panel.content.decode()


def test_a_hard_limit_refuses_past_it_with_the_gate_message(demo, client) -> None:
    user = user_create("usage-limit")
    demo_metered_subscribe(user, "starter")
    client.force_login(user)
    call = reverse("accounts:usage_demo_call")

    counted = client.post(call, **HX)
    assert "data-api-calls>1<" in counted.content.decode()
    # Starter allows 50,000 calls a month.
    usage_record(holder=user, meter="api_calls", value=49_999)
    assert not usage_within_limit(holder=user, meter="api_calls")

    refused = client.post(call, **HX)

    assert "You have used 50,000 of 50,000 API calls this month — upgrade for more" in (
        refused.content.decode()
    )
    assert sum(record.value for record in UsageRecord.objects.all()) == 50_000


def test_a_plan_without_the_meter_says_so_and_records_nothing(demo, client) -> None:
    user = user_create("usage-basic")
    holder_customer_ensure(holder=user)
    stripe_client().v1.subscriptions.create(
        params={
            "customer": user.customer.id,
            "items": [{"price": demo_price("basic").id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    holder_subscription_sync(holder=user)
    client.force_login(user)

    refused = client.post(reverse("accounts:usage_demo_call"), **HX)

    assert "Your plan does not include API calls — upgrade to use them." in refused.content.decode()
    assert not UsageRecord.objects.exists()
    # Without htmx: back to the demo with the message.
    plain = client.post(reverse("accounts:usage_demo_call"))
    assert plain.status_code == 302
