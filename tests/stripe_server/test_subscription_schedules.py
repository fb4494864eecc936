"""Subscription schedules: a downgrade scheduled for the period's end, kept or let go.

Subscriptions live on test clocks, so "now" and every period boundary are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import stripe

from tests.stripe_server.subscribers import (
    DAY,
    FEB_1_2026,
    JAN_1_2026,
    JAN_11_2026,
    MAR_1_2026,
    events_about,
    product_create,
    recurring_price,
    subscriber_on_clock,
)

NOW = JAN_11_2026


@dataclass
class Subscriber:
    clock: str
    subscription: stripe.Subscription
    pro: stripe.Price
    basic: stripe.Price


def _subscriber(sdk: stripe.StripeClient, *, seats: int = 3) -> Subscriber:
    """`seats` x $30 a month since 1 Jan 2026 on its own clock, now at 11 January; and a $10
    price to move down to."""
    product = product_create(sdk, "Schedule")
    pro, basic = recurring_price(sdk, product, 3000), recurring_price(sdk, product, 1000)
    who = subscriber_on_clock(sdk, pro, quantity=seats, now=NOW)
    return Subscriber(who.clock, who.subscription, pro, basic)


def _schedule_downgrade(
    sdk: stripe.StripeClient, who: Subscriber, *, seats: int = 2
) -> stripe.SubscriptionSchedule:
    """What the Portal does: take the subscription over, keep today's items until the period
    ends, then `seats` on the cheaper price; release afterwards."""
    schedule = sdk.v1.subscription_schedules.create({"from_subscription": who.subscription.id})
    current = schedule.phases[0]
    return sdk.v1.subscription_schedules.update(
        schedule.id,
        {
            "phases": [
                {
                    "items": [{"price": item.price, "quantity": item.quantity}
                              for item in current["items"]],
                    "start_date": current.start_date,
                    "end_date": current.end_date,
                },
                {"items": [{"price": who.basic.id, "quantity": seats}]},
            ],
            "end_behavior": "release",
        },
    )  # fmt: skip


def test_from_subscription_takes_the_subscription_over_until_its_period_ends(
    sdk: stripe.StripeClient,
) -> None:
    who = _subscriber(sdk)

    schedule = sdk.v1.subscription_schedules.create({"from_subscription": who.subscription.id})

    assert schedule.status == "active"
    assert schedule.subscription == who.subscription.id
    assert schedule.customer == who.subscription.customer
    assert schedule.end_behavior == "release"
    assert (schedule.current_phase.start_date, schedule.current_phase.end_date) == (
        JAN_1_2026,
        FEB_1_2026,
    )
    (phase,) = schedule.phases
    assert [(item.price, item.quantity) for item in phase["items"]] == [(who.pro.id, 3)]
    assert sdk.v1.subscriptions.retrieve(who.subscription.id).schedule == schedule.id
    assert len(events_about(sdk, schedule.id, "subscription_schedule.created")) == 1
    with pytest.raises(stripe.InvalidRequestError, match="already attached to a schedule"):
        sdk.v1.subscription_schedules.create({"from_subscription": who.subscription.id})


def test_a_scheduled_downgrade_is_billed_by_the_renewal_at_the_period_end(
    sdk: stripe.StripeClient,
) -> None:
    who = _subscriber(sdk)
    schedule = _schedule_downgrade(sdk, who)

    assert [phase.start_date for phase in schedule.phases] == [JAN_1_2026, FEB_1_2026]
    assert schedule.phases[1].end_date == MAR_1_2026
    unchanged = sdk.v1.subscriptions.retrieve(who.subscription.id)
    assert [(i.price.id, i.quantity) for i in unchanged["items"].data] == [(who.pro.id, 3)]
    preview = sdk.v1.invoices.create_preview({"subscription": who.subscription.id})
    assert [line.amount for line in preview.lines.data] == [2 * 1000]

    sdk.v1.test_helpers.test_clocks.advance(who.clock, {"frozen_time": FEB_1_2026 + 3600})

    moved = sdk.v1.subscriptions.retrieve(who.subscription.id)
    assert [(i.price.id, i.quantity) for i in moved["items"].data] == [(who.basic.id, 2)]
    assert moved.schedule == schedule.id
    renewal = sdk.v1.invoices.retrieve(moved.latest_invoice)
    assert renewal.billing_reason == "subscription_cycle"
    assert [(line.amount, line.parent.subscription_item_details.proration)
            for line in renewal.lines.data] == [(2 * 1000, False)]  # fmt: skip
    assert renewal.amount_paid == 2000
    assert sdk.v1.invoice_items.list({"customer": moved.customer}).data == []
    phase_now = sdk.v1.subscription_schedules.retrieve(schedule.id).current_phase
    assert (phase_now.start_date, phase_now.end_date) == (FEB_1_2026, MAR_1_2026)
    assert any(
        event.data.object["items"].data[0].price.id == who.basic.id
        for event in events_about(sdk, who.subscription.id, "customer.subscription.updated")
    )


def test_after_its_last_phase_a_released_schedule_completes_and_the_subscription_goes_on(
    sdk: stripe.StripeClient,
) -> None:
    who = _subscriber(sdk)
    schedule = _schedule_downgrade(sdk, who)

    sdk.v1.test_helpers.test_clocks.advance(who.clock, {"frozen_time": MAR_1_2026 + 3600})

    completed = sdk.v1.subscription_schedules.retrieve(schedule.id)
    assert completed.status == "completed"
    assert completed.completed_at == MAR_1_2026
    assert completed.current_phase is None
    after = sdk.v1.subscriptions.retrieve(who.subscription.id)
    assert after.status == "active"
    assert after.schedule is None
    assert [(i.price.id, i.quantity) for i in after["items"].data] == [(who.basic.id, 2)]
    assert sdk.v1.invoices.retrieve(after.latest_invoice).amount_paid == 2000
    assert len(events_about(sdk, schedule.id, "subscription_schedule.completed")) == 1


def test_keep_my_plan_releases_the_schedule_before_the_boundary(
    sdk: stripe.StripeClient,
) -> None:
    who = _subscriber(sdk)
    schedule = _schedule_downgrade(sdk, who)

    released = sdk.v1.subscription_schedules.release(schedule.id)
    sdk.v1.test_helpers.test_clocks.advance(who.clock, {"frozen_time": FEB_1_2026 + 3600})

    assert released.status == "released"
    assert released.released_at == NOW
    assert released.released_subscription == who.subscription.id
    assert released.subscription is None
    kept = sdk.v1.subscriptions.retrieve(who.subscription.id)
    assert kept.schedule is None
    assert [(i.price.id, i.quantity) for i in kept["items"].data] == [(who.pro.id, 3)]
    assert sdk.v1.invoices.retrieve(kept.latest_invoice).amount_paid == 3 * 3000
    assert len(events_about(sdk, schedule.id, "subscription_schedule.released")) == 1
    with pytest.raises(stripe.InvalidRequestError, match="`released` status"):
        sdk.v1.subscription_schedules.release(schedule.id)


def test_canceling_the_schedule_cancels_its_subscription(sdk: stripe.StripeClient) -> None:
    who = _subscriber(sdk)
    schedule = _schedule_downgrade(sdk, who)

    canceled = sdk.v1.subscription_schedules.cancel(schedule.id)

    assert canceled.status == "canceled"
    assert canceled.canceled_at == NOW
    subscription = sdk.v1.subscriptions.retrieve(who.subscription.id)
    assert subscription.status == "canceled"
    assert len(events_about(sdk, schedule.id, "subscription_schedule.canceled")) == 1


def test_a_scheduled_subscription_refuses_direct_cancellation_changes(
    sdk: stripe.StripeClient,
) -> None:
    who = _subscriber(sdk)
    schedule = _schedule_downgrade(sdk, who)

    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.subscriptions.update(who.subscription.id, {"cancel_at_period_end": True})

    assert refused.value.user_message == (
        f"The subscription is managed by the subscription schedule `{schedule.id}`, and "
        "updating any cancelation behavior directly is not allowed. Please update the "
        "schedule instead."
    )


def test_end_behavior_cancel_cancels_the_subscription_after_the_last_phase(
    sdk: stripe.StripeClient,
) -> None:
    who = _subscriber(sdk)
    schedule = _schedule_downgrade(sdk, who)
    sdk.v1.subscription_schedules.update(schedule.id, {"end_behavior": "cancel"})

    sdk.v1.test_helpers.test_clocks.advance(who.clock, {"frozen_time": MAR_1_2026 + 3600})

    assert sdk.v1.subscription_schedules.retrieve(schedule.id).status == "completed"
    ended = sdk.v1.subscriptions.retrieve(who.subscription.id)
    assert (ended.status, ended.ended_at) == ("canceled", MAR_1_2026)


def test_a_schedule_for_a_customer_starts_its_subscription(sdk: stripe.StripeClient) -> None:
    who = _subscriber(sdk)
    customer = who.subscription.customer
    later = NOW + 5 * DAY

    now_schedule = sdk.v1.subscription_schedules.create(
        {
            "customer": customer,
            "start_date": "now",
            "phases": [
                {
                    "items": [{"price": who.basic.id, "quantity": 4}],
                    "duration": {"interval": "month"},
                }
            ],
        }
    )
    future = sdk.v1.subscription_schedules.create(
        {
            "customer": customer,
            "start_date": later,
            "end_behavior": "cancel",
            "phases": [{"items": [{"price": who.pro.id}], "end_date": later + 10 * DAY}],
        }
    )

    assert now_schedule.status == "active"
    started = sdk.v1.subscriptions.retrieve(now_schedule.subscription)
    assert started.schedule == now_schedule.id
    assert (started.status, started["items"].data[0].quantity) == ("active", 4)
    assert sdk.v1.invoices.retrieve(started.latest_invoice).amount_paid == 4000
    assert (future.status, future.subscription) == ("not_started", None)
    listed = sdk.v1.subscription_schedules.list({"customer": customer, "scheduled": True})
    assert [s.id for s in listed.data] == [future.id]

    sdk.v1.test_helpers.test_clocks.advance(who.clock, {"frozen_time": later + 60})

    begun = sdk.v1.subscription_schedules.retrieve(future.id)
    assert begun.status == "active"
    assert sdk.v1.subscriptions.retrieve(begun.subscription).start_date == later


def test_schedules_list_by_customer_with_pagination(sdk: stripe.StripeClient) -> None:
    who = _subscriber(sdk)
    other = _subscriber(sdk)
    first = sdk.v1.subscription_schedules.create({"from_subscription": who.subscription.id})
    sdk.v1.subscription_schedules.create({"from_subscription": other.subscription.id})
    second = sdk.v1.subscription_schedules.create(
        {
            "customer": who.subscription.customer,
            "start_date": NOW + DAY,
            "phases": [{"items": [{"price": who.basic.id}]}],
        }
    )

    page = sdk.v1.subscription_schedules.list({"customer": who.subscription.customer, "limit": 1})
    rest = sdk.v1.subscription_schedules.list(
        {"customer": who.subscription.customer, "starting_after": page.data[0].id}
    )

    assert [s.id for s in page.data] == [second.id]
    assert page.has_more is True
    assert [s.id for s in rest.data] == [first.id]
    with pytest.raises(stripe.InvalidRequestError, match="subscription"):
        sdk.v1.subscription_schedules.list({"subscription": who.subscription.id})  # type: ignore[typeddict-unknown-key]


def test_a_schedule_expands_its_subscription_and_customer(sdk: stripe.StripeClient) -> None:
    who = _subscriber(sdk)
    schedule = sdk.v1.subscription_schedules.create({"from_subscription": who.subscription.id})

    expanded = sdk.v1.subscription_schedules.retrieve(
        schedule.id, {"expand": ["subscription", "customer"]}
    )

    assert expanded.subscription.id == who.subscription.id
    assert expanded.subscription.schedule == schedule.id
    assert expanded.customer.id == who.subscription.customer


def test_phase_changes_and_the_coming_end_are_announced(sdk: stripe.StripeClient) -> None:
    who = _subscriber(sdk)
    schedule = _schedule_downgrade(sdk, who)

    sdk.v1.test_helpers.test_clocks.advance(who.clock, {"frozen_time": FEB_1_2026 + 3600})
    sdk.v1.test_helpers.test_clocks.advance(who.clock, {"frozen_time": MAR_1_2026 - 3 * DAY})

    updated = events_about(sdk, schedule.id, "subscription_schedule.updated")
    # The phases update, then the move into the second phase (newest first).
    assert len(updated) == 2
    assert updated[0].data.object["current_phase"]["start_date"] == FEB_1_2026
    assert "phases" in updated[1].data.previous_attributes
    (expiring,) = events_about(sdk, schedule.id, "subscription_schedule.expiring")
    assert expiring.created == MAR_1_2026 - 3 * DAY


def test_changing_the_running_phase_applies_it_now_with_prorations(
    sdk: stripe.StripeClient,
) -> None:
    who = _subscriber(sdk)
    schedule = sdk.v1.subscription_schedules.create({"from_subscription": who.subscription.id})

    sdk.v1.subscription_schedules.update(
        schedule.id,
        {
            "phases": [
                {
                    "items": [{"price": who.pro.id, "quantity": 5}],
                    "start_date": JAN_1_2026,
                    "end_date": FEB_1_2026,
                }
            ],
            "proration_behavior": "always_invoice",
        },
    )

    changed = sdk.v1.subscriptions.retrieve(who.subscription.id)
    assert changed["items"].data[0].quantity == 5
    invoice = sdk.v1.invoices.retrieve(changed.latest_invoice)
    three_seats, five_seats = 3 * 3000, 5 * 3000
    assert sorted(line.amount for line in invoice.lines.data) == [
        -round(three_seats * (FEB_1_2026 - NOW) / (FEB_1_2026 - JAN_1_2026)),
        round(five_seats * (FEB_1_2026 - NOW) / (FEB_1_2026 - JAN_1_2026)),
    ]
