"""Test clocks: customers on a clock renew, end trials, cancel and fail by the clock's time."""

from __future__ import annotations

import time
import uuid

import pytest
import stripe

DAY = 86400


def _price(sdk: stripe.StripeClient, interval: str = "month") -> stripe.Price:
    product = sdk.v1.products.create({"name": f"Clocked {uuid.uuid4().hex[:6]}"})
    return sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1200,
            "recurring": {"interval": interval},
        }
    )


def _customer_on_clock(
    sdk: stripe.StripeClient, clock_id: str, card: str = "pm_card_visa"
) -> stripe.Customer:
    return sdk.v1.customers.create(
        {
            "email": f"clock-{uuid.uuid4().hex[:8]}@example.com",
            "test_clock": clock_id,
            "payment_method": card,
            "invoice_settings": {"default_payment_method": card},
        }
    )


def _events_about(sdk: stripe.StripeClient, object_id: str, event_type: str) -> list:
    # Every page: a test clock's events carry its (past) time, behind the session's newer ones.
    listed = sdk.v1.events.list({"type": event_type, "limit": 100}).auto_paging_iter()
    return [e for e in listed if e.data.object.get("id") == object_id]


def test_clock_create_retrieve_list_delete_with_fixture_shape(
    stripe_fixtures, sdk: stripe.StripeClient
) -> None:
    frozen = int(time.time())
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": frozen, "name": "Renewals"})
    assert clock.id.startswith("clock_")
    assert clock.status == "ready"
    assert clock.frozen_time == frozen
    assert clock.name == "Renewals"
    fixture = stripe_fixtures["test_helpers.test_clock"]
    assert set(clock.to_dict()) == set(fixture)
    assert sdk.v1.test_helpers.test_clocks.retrieve(clock.id).frozen_time == frozen
    listed = sdk.v1.test_helpers.test_clocks.list({"limit": 100})
    assert clock.id in [c.id for c in listed.data]

    customer = _customer_on_clock(sdk, clock.id)
    deleted = sdk.v1.test_helpers.test_clocks.delete(clock.id)

    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.test_helpers.test_clocks.retrieve(clock.id)
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.customers.retrieve(customer.id)


def test_customer_on_a_clock_subscribes_at_the_frozen_time(sdk: stripe.StripeClient) -> None:
    frozen = int(time.time()) - 40 * DAY
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": frozen})
    customer = _customer_on_clock(sdk, clock.id)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": _price(sdk).id}]}
    )
    assert customer.test_clock == clock.id
    assert customer.created == frozen
    assert subscription.start_date == frozen
    assert subscription.test_clock == clock.id


def test_advancing_renews_with_a_new_invoice_and_period(sdk: stripe.StripeClient) -> None:
    frozen = int(time.time())
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": frozen})
    customer = _customer_on_clock(sdk, clock.id)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": _price(sdk).id}]}
    )
    first_period_end = subscription["items"].data[0].current_period_end

    advanced = sdk.v1.test_helpers.test_clocks.advance(
        clock.id, {"frozen_time": first_period_end + DAY}
    )

    assert advanced.status == "ready"
    assert advanced.frozen_time == first_period_end + DAY
    renewed = sdk.v1.subscriptions.retrieve(subscription.id)
    assert renewed.status == "active"
    assert renewed["items"].data[0].current_period_start == first_period_end
    assert renewed["items"].data[0].current_period_end > first_period_end
    invoices = sdk.v1.invoices.list({"subscription": subscription.id}).data
    assert sorted(i.billing_reason for i in invoices) == [
        "subscription_create",
        "subscription_cycle",
    ]
    cycle = next(i for i in invoices if i.billing_reason == "subscription_cycle")
    assert cycle.status == "paid"
    assert cycle.period_start == first_period_end
    updated = _events_about(sdk, subscription.id, "customer.subscription.updated")
    # Since API 2025-03-31 the period lives on each item: the renewal changed `items`.
    first_start = subscription["items"].data[0].current_period_start
    assert any(
        e.data.previous_attributes["items"]["data"][0]["current_period_start"] == first_start
        for e in updated
        if "items" in (e.data.get("previous_attributes") or {})
    )


def test_advancing_past_the_trial_starts_paying(sdk: stripe.StripeClient) -> None:
    frozen = int(time.time())
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": frozen})
    customer = _customer_on_clock(sdk, clock.id)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": _price(sdk).id}], "trial_period_days": 7}
    )
    assert subscription.status == "trialing"

    sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": frozen + 8 * DAY})

    after = sdk.v1.subscriptions.retrieve(subscription.id)
    assert after.status == "active"
    assert after["items"].data[0].current_period_start == frozen + 7 * DAY
    paid = [
        i
        for i in sdk.v1.invoices.list({"subscription": subscription.id}).data
        if i.amount_paid == 1200
    ]
    assert len(paid) == 1


def test_advancing_past_the_period_ends_a_subscription_set_to_cancel(
    sdk: stripe.StripeClient,
) -> None:
    frozen = int(time.time())
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": frozen})
    customer = _customer_on_clock(sdk, clock.id)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": _price(sdk).id}]}
    )
    sdk.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": True})
    assert sdk.v1.subscriptions.retrieve(subscription.id).canceled_at == frozen

    sdk.v1.test_helpers.test_clocks.advance(
        clock.id, {"frozen_time": subscription["items"].data[0].current_period_end + 60}
    )

    ended = sdk.v1.subscriptions.retrieve(subscription.id)
    assert ended.status == "canceled"
    assert ended.ended_at == subscription["items"].data[0].current_period_end
    assert len(_events_about(sdk, subscription.id, "customer.subscription.deleted")) == 1


def test_advancing_with_a_failing_card_makes_the_renewal_past_due(
    sdk: stripe.StripeClient,
) -> None:
    frozen = int(time.time())
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": frozen})
    customer = _customer_on_clock(sdk, clock.id, card="pm_card_chargeCustomerFail")
    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": _price(sdk).id}],
            "trial_period_days": 3,
        }
    )

    sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": frozen + 4 * DAY})

    after = sdk.v1.subscriptions.retrieve(subscription.id)
    assert after.status == "past_due"
    failed = sdk.v1.invoices.retrieve(after.latest_invoice)
    assert failed.status == "open"
    assert failed.attempt_count == 1
    assert len(_events_about(sdk, failed.id, "invoice.payment_failed")) == 1


def test_the_server_billing_pass_leaves_test_clock_subscriptions_alone(
    sdk: stripe.StripeClient, local_stripe
) -> None:
    # The clock is frozen 40 days ago, so by the wall clock the first period has ended.
    frozen = int(time.time()) - 40 * DAY
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": frozen})
    customer = _customer_on_clock(sdk, clock.id)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": _price(sdk).id}]}
    )

    local_stripe.admin("POST", "/_local/billing/run")

    after = sdk.v1.subscriptions.retrieve(subscription.id)
    assert (
        after["items"].data[0].current_period_start
        == subscription["items"].data[0].current_period_start
    )
    assert len(sdk.v1.invoices.list({"subscription": subscription.id}).data) == 1


def test_invalid_clock_requests_are_refused(sdk: stripe.StripeClient) -> None:
    frozen = int(time.time())
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": frozen})
    with pytest.raises(stripe.InvalidRequestError) as backwards:
        sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": frozen - 1})
    assert backwards.value.param == "frozen_time"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sdk.v1.customers.create({"test_clock": "clock_missing"})
    assert missing.value.param == "test_clock"
    assert missing.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as no_time:
        sdk.v1.test_helpers.test_clocks.create({"name": "no time"})
    assert no_time.value.param == "frozen_time"
