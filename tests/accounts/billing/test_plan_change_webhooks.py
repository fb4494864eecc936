"""A downgrade made outside this process (another worker, the Dashboard) reaches Portal through
webhooks: the scheduled change, then the new plan and its group, whatever order the events
arrive in."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.billing.state import billing_state
from portal.stripe_client import stripe_client
from pricing import metadata as pricing_metadata
from tests.accounts.billing_helpers import (
    DAY,
    FEB_1_2026,
    JAN_1_2026,
    clock_customer_create,
    subscription_start,
)
from tests.accounts.gating_support import demo_plans_ensure, demo_price, plans_with_groups
from tests.accounts.webhooks.webhook_helpers import (
    SECRET,
    WebhookPoster,
    events_since,
)

pytestmark = pytest.mark.django_db


def events_new(ids: set[str], seen: set[str]) -> list[dict]:
    """The events about these objects not in `seen` (their clock's time, January 2026, is when
    Stripe says they were created), oldest first; `seen` takes them in."""
    found = [
        event for event in events_since(JAN_1_2026 - DAY, object_ids=ids) if event["id"] not in seen
    ]
    seen.update(event["id"] for event in found)
    return found


def deliver_newest_first(poster: WebhookPoster, events: list[dict]) -> None:
    """Post the events in the reverse of the order Stripe made them."""
    for event in reversed(events):
        assert poster.post(event).status_code == 200, event["type"]


def test_schedule_and_subscription_webhooks_in_any_order_keep_state_and_groups_right(
    client, user, stripe_settings, settings, monkeypatch
):
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    poster = WebhookPoster(client=client, secret=SECRET)
    demo_plans_ensure(stripe_settings.api_base)
    monkeypatch.setattr(
        pricing_metadata, "ACTIVE_PRODUCTS", plans_with_groups(pro="Pro", basic="Basic")
    )
    basic, pro = demo_price("basic"), demo_price("pro")
    clock = clock_customer_create(holder=user, frozen_time=JAN_1_2026)
    subscription_id = subscription_start(holder=user, price=pro)
    sdk = stripe_client()

    # The downgrade is scheduled elsewhere: only its webhooks tell this process.
    seen = {event["id"] for event in events_since(JAN_1_2026 - DAY, object_ids={subscription_id})}
    schedule = sdk.v1.subscription_schedules.create(params={"from_subscription": subscription_id})
    current = schedule.phases[0]
    sdk.v1.subscription_schedules.update(
        schedule.id,
        params={
            "phases": [
                {
                    "items": [{"price": pro.id, "quantity": 1}],
                    "start_date": current.start_date,
                    "end_date": current.end_date,
                },
                {"items": [{"price": basic.id, "quantity": 1}]},
            ],
            "end_behavior": "release",
        },
    )
    made = events_new({schedule.id, subscription_id}, seen)
    assert {"subscription_schedule.created", "subscription_schedule.updated"} <= {
        event["type"] for event in made
    }
    assert billing_state(holder=user).scheduled_change is None  # nothing arrived yet

    deliver_newest_first(poster, made)

    state = billing_state(holder=user)
    assert state.slug == "pro"
    assert (state.scheduled_change.price_id, state.scheduled_change.starts.timestamp()) == (
        basic.id,
        FEB_1_2026,
    )
    assert list(user.groups.values_list("name", flat=True)) == ["Pro"]

    # The period ends: the schedule moves the subscription to Basic.
    sdk.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": FEB_1_2026 + 60})
    moved = events_new({schedule.id, subscription_id}, seen)
    assert "customer.subscription.updated" in {event["type"] for event in moved}

    deliver_newest_first(poster, moved)

    state = billing_state(holder=user)
    assert state.slug == "basic" and state.scheduled_change is None
    assert list(user.groups.values_list("name", flat=True)) == ["Basic"]
    assert Group.objects.filter(name="Pro").exists()
