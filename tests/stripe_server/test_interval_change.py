"""Changing a subscription's billing interval restarts its period and invoices it at once.

Each subscription lives on its own test clock, so "now" is exact and the proration credit for
the unused time on the old price can be computed to the cent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
import stripe

from tests.stripe_server.hosted_pages import get_page, hidden_fields, post_form

DAY = 86400
JAN_1_2026 = 1767225600
JAN_11_2026 = JAN_1_2026 + 10 * DAY
FEB_1_2026 = JAN_1_2026 + 31 * DAY
# Ten days into January, 21 of its 31 days are unused.
MONTHLY_CREDIT = -round(1000 * 21 / 31)  # -677


@dataclass
class Plans:
    monthly: stripe.Price
    monthly_dear: stripe.Price
    quarterly: stripe.Price
    annual: stripe.Price


def _plans(sdk: stripe.StripeClient) -> Plans:
    product = sdk.v1.products.create({"name": f"Interval {uuid.uuid4().hex[:6]}"})

    def price(amount: int, interval: str, count: int = 1) -> stripe.Price:
        return sdk.v1.prices.create(
            {
                "product": product.id,
                "currency": "usd",
                "unit_amount": amount,
                "recurring": {"interval": interval, "interval_count": count},
            }
        )

    return Plans(
        monthly=price(1000, "month"),
        monthly_dear=price(3000, "month"),
        quarterly=price(2700, "month", 3),
        annual=price(10000, "year"),
    )


def _subscribe_on_clock(
    sdk: stripe.StripeClient, price: stripe.Price, *, days_in: int = 10, **extra: object
) -> tuple[stripe.Customer, stripe.Subscription]:
    """A paying customer on a fresh clock at 1 Jan 2026, subscribed, then `days_in` days on."""
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": JAN_1_2026})
    customer = sdk.v1.customers.create(
        {
            "email": f"interval-{uuid.uuid4().hex[:8]}@example.com",
            "test_clock": clock.id,
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}], **extra}
    )
    sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": JAN_1_2026 + days_in * DAY})
    return customer, subscription


def _events_about(sdk: stripe.StripeClient, object_id: str, event_type: str) -> list:
    # Every page: a test clock's events carry its (past) time, behind the session's newer ones.
    listed = sdk.v1.events.list({"type": event_type, "limit": 100}).auto_paging_iter()
    return [event for event in listed if event.data.object.get("id") == object_id]


def _lines(invoice: stripe.Invoice) -> list[tuple[int, bool, int, int]]:
    return sorted(
        (
            line.amount,
            line.parent.subscription_item_details.proration,
            line.period.start,
            line.period.end,
        )
        for line in invoice.lines.data
    )


def _switch(
    sdk: stripe.StripeClient, subscription: stripe.Subscription, price: stripe.Price, **extra
) -> stripe.Subscription:
    item = subscription["items"].data[0]
    return sdk.v1.subscriptions.update(
        subscription.id, {"items": [{"id": item.id, "price": price.id}], **extra}
    )


def test_monthly_to_annual_restarts_the_period_and_charges_now_with_a_credit(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    _, subscription = _subscribe_on_clock(sdk, plans.monthly)
    annual_end = JAN_11_2026 + 365 * DAY

    switched = _switch(sdk, subscription, plans.annual, proration_behavior="create_prorations")

    assert switched.status == "active"
    assert switched.billing_cycle_anchor == JAN_11_2026
    assert (
        switched["items"].data[0].current_period_start,
        switched["items"].data[0].current_period_end,
    ) == (
        JAN_11_2026,
        annual_end,
    )
    item = sdk.v1.subscription_items.retrieve(switched["items"].data[0].id)
    assert (item.current_period_start, item.current_period_end) == (JAN_11_2026, annual_end)
    assert item.price.id == plans.annual.id
    assert switched.latest_invoice != subscription.latest_invoice
    invoice = sdk.v1.invoices.retrieve(switched.latest_invoice)
    assert invoice.billing_reason == "subscription_update"
    assert invoice.status == "paid"
    assert (invoice.period_start, invoice.period_end) == (JAN_11_2026, annual_end)
    assert _lines(invoice) == [
        (MONTHLY_CREDIT, True, JAN_11_2026, FEB_1_2026),
        (10000, False, JAN_11_2026, annual_end),
    ]
    assert invoice.amount_paid == 10000 + MONTHLY_CREDIT
    assert (
        sdk.v1.invoice_items.list({"customer": subscription.customer, "pending": True}).data == []
    )
    for event_type in (
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
    ):
        assert len(_events_about(sdk, invoice.id, event_type)) == 1, event_type
    updated = _events_about(sdk, subscription.id, "customer.subscription.updated")[0]
    previous = updated.data.previous_attributes
    assert previous["items"]["data"][0]["current_period_start"] == JAN_1_2026
    assert previous["items"]["data"][0]["current_period_end"] == FEB_1_2026
    assert previous["billing_cycle_anchor"] == JAN_1_2026
    assert previous["latest_invoice"] == subscription.latest_invoice
    assert previous["items"]["data"][0]["price"]["id"] == plans.monthly.id
    assert updated.data.object["items"].data[0].current_period_end == annual_end


def test_interval_change_without_prorations_bills_the_new_price_in_full(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    _, subscription = _subscribe_on_clock(sdk, plans.monthly)

    switched = _switch(sdk, subscription, plans.annual, proration_behavior="none")

    assert switched["items"].data[0].current_period_start == JAN_11_2026
    invoice = sdk.v1.invoices.retrieve(switched.latest_invoice)
    assert _lines(invoice) == [(10000, False, JAN_11_2026, JAN_11_2026 + 365 * DAY)]
    assert (invoice.status, invoice.amount_paid) == ("paid", 10000)


def test_interval_count_change_is_an_interval_change(sdk: stripe.StripeClient) -> None:
    plans = _plans(sdk)
    _, subscription = _subscribe_on_clock(sdk, plans.monthly)

    switched = _switch(sdk, subscription, plans.quarterly, proration_behavior="always_invoice")

    apr_11_2026 = JAN_11_2026 + (31 + 28 + 31) * DAY
    assert (
        switched["items"].data[0].current_period_start,
        switched["items"].data[0].current_period_end,
    ) == (
        JAN_11_2026,
        apr_11_2026,
    )
    invoice = sdk.v1.invoices.retrieve(switched.latest_invoice)
    assert _lines(invoice) == [
        (MONTHLY_CREDIT, True, JAN_11_2026, FEB_1_2026),
        (2700, False, JAN_11_2026, apr_11_2026),
    ]


def test_annual_to_monthly_through_the_item_endpoint_restarts_a_monthly_period(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    _, subscription = _subscribe_on_clock(sdk, plans.annual)
    item = subscription["items"].data[0]

    changed = sdk.v1.subscription_items.update(
        item.id, {"price": plans.monthly.id, "proration_behavior": "always_invoice"}
    )

    feb_11_2026 = JAN_11_2026 + 31 * DAY
    assert (
        changed.current_period_start,
        changed.current_period_end,
    ) == (
        JAN_11_2026,
        feb_11_2026,
    )
    after = sdk.v1.subscriptions.retrieve(subscription.id)
    assert (
        after["items"].data[0].current_period_start,
        after["items"].data[0].current_period_end,
    ) == (JAN_11_2026, feb_11_2026)
    assert after.billing_cycle_anchor == JAN_11_2026
    invoice = sdk.v1.invoices.retrieve(after.latest_invoice)
    annual_credit = -round(10000 * 355 / 365)
    assert _lines(invoice) == [
        (annual_credit, True, JAN_11_2026, JAN_1_2026 + 365 * DAY),
        (1000, False, JAN_11_2026, feb_11_2026),
    ]
    # The credit exceeds the new price: nothing is due and the rest stays on the balance.
    assert invoice.total == 1000 + annual_credit
    assert (invoice.amount_due, invoice.status) == (0, "paid")
    assert invoice.ending_balance == 1000 + annual_credit
    updated = _events_about(sdk, subscription.id, "customer.subscription.updated")[0]
    assert (
        updated.data.previous_attributes["items"]["data"][0]["current_period_end"]
        == JAN_1_2026 + 365 * DAY
    )


def test_interval_change_on_a_failing_card_leaves_the_invoice_open_and_past_due(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    customer, subscription = _subscribe_on_clock(sdk, plans.monthly)
    failing = sdk.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    sdk.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": failing.id}}
    )

    switched = _switch(sdk, subscription, plans.annual)

    assert switched.status == "past_due"
    assert switched["items"].data[0].current_period_start == JAN_11_2026
    invoice = sdk.v1.invoices.retrieve(switched.latest_invoice)
    assert (invoice.status, invoice.attempt_count, invoice.amount_paid) == ("open", 1, 0)
    assert invoice.amount_due == 10000 + MONTHLY_CREDIT
    assert len(_events_about(sdk, invoice.id, "invoice.payment_failed")) == 1
    assert _events_about(sdk, invoice.id, "invoice.paid") == []
    assert sdk.v1.customers.retrieve(customer.id).delinquent is True


def test_interval_change_with_error_if_incomplete_on_a_failing_card_changes_nothing(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    customer, subscription = _subscribe_on_clock(sdk, plans.monthly)
    failing = sdk.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    sdk.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": failing.id}}
    )

    with pytest.raises(stripe.CardError) as raised:
        _switch(sdk, subscription, plans.annual, payment_behavior="error_if_incomplete")

    assert raised.value.http_status == 402
    after = sdk.v1.subscriptions.retrieve(subscription.id)
    assert after["items"].data[0].price.id == plans.monthly.id
    assert (
        after["items"].data[0].current_period_start,
        after["items"].data[0].current_period_end,
    ) == (JAN_1_2026, FEB_1_2026)
    assert after.latest_invoice == subscription.latest_invoice
    assert after.status == "active"


def test_same_interval_change_keeps_the_period_and_bills_prorations_later(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    _, subscription = _subscribe_on_clock(sdk, plans.monthly)

    switched = _switch(sdk, subscription, plans.monthly_dear)

    assert (
        switched["items"].data[0].current_period_start,
        switched["items"].data[0].current_period_end,
    ) == (
        JAN_1_2026,
        FEB_1_2026,
    )
    assert switched.billing_cycle_anchor == JAN_1_2026
    assert switched.latest_invoice == subscription.latest_invoice
    pending = sdk.v1.invoice_items.list({"customer": subscription.customer, "pending": True})
    assert sorted(i.amount for i in pending.data) == [MONTHLY_CREDIT, round(3000 * 21 / 31)]


def test_interval_change_during_a_trial_keeps_the_trial_and_invoices_nothing(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    _, subscription = _subscribe_on_clock(sdk, plans.monthly, trial_period_days=30)

    switched = _switch(sdk, subscription, plans.annual)

    assert switched.status == "trialing"
    assert (
        switched["items"].data[0].current_period_start,
        switched["items"].data[0].current_period_end,
    ) == (
        JAN_1_2026,
        JAN_1_2026 + 30 * DAY,
    )
    assert switched.latest_invoice == subscription.latest_invoice


def test_switching_to_annual_in_the_hosted_portal_restarts_the_period_and_charges(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    customer, subscription = _subscribe_on_clock(sdk, plans.monthly)
    configuration = sdk.v1.billing_portal.configurations.create(
        {
            "features": {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price"],
                    "products": [
                        {
                            "product": plans.monthly.product,
                            "prices": [plans.monthly.id, plans.annual.id],
                        }
                    ],
                    "proration_behavior": "create_prorations",
                }
            }
        }
    )
    session = sdk.v1.billing_portal.sessions.create(
        {
            "customer": customer.id,
            "return_url": "http://127.0.0.1:9/account",
            "configuration": configuration.id,
        }
    )

    plans_url = f"{session.url}/subscriptions/{subscription.id}/update"
    review = get_page(f"{plans_url}/review?price={plans.annual.id}")
    assert f"You&#x27;ll be charged ${(10000 + MONTHLY_CREDIT) / 100:.2f} today." in review.text

    done = post_form(f"{plans_url}/confirm", hidden_fields(review.text))

    assert done.status == 303
    after = sdk.v1.subscriptions.retrieve(subscription.id)
    assert (
        after["items"].data[0].current_period_start,
        after["items"].data[0].current_period_end,
    ) == (
        JAN_11_2026,
        JAN_11_2026 + 365 * DAY,
    )
    invoice = sdk.v1.invoices.retrieve(after.latest_invoice)
    assert invoice.billing_reason == "subscription_update"
    assert (invoice.status, invoice.amount_paid) == ("paid", 10000 + MONTHLY_CREDIT)
    updated = _events_about(sdk, subscription.id, "customer.subscription.updated")[0]
    assert (
        updated.data.previous_attributes["items"]["data"][0]["current_period_start"] == JAN_1_2026
    )
