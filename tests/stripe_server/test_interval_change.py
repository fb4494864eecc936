"""Changing a subscription's billing interval restarts its period and invoices it at once.

Each subscription lives on its own test clock, so "now" is exact and the proration credit for
the unused time on the old price can be computed to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import stripe

from tests.stripe_server.hosted_pages import get_page, hidden_fields, post_form
from tests.stripe_server.subscribers import (
    DAY,
    FEB_1_2026,
    JAN_1_2026,
    JAN_11_2026,
    events_about,
    line_summary,
    product_create,
    recurring_price,
    subscriber_on_clock,
)

# Ten days into January, 21 of its 31 days are unused.
MONTHLY_CREDIT = -round(1000 * 21 / 31)  # -677


@dataclass
class Plans:
    monthly: stripe.Price
    monthly_dear: stripe.Price
    quarterly: stripe.Price
    annual: stripe.Price


def _plans(sdk: stripe.StripeClient) -> Plans:
    product = product_create(sdk, "Interval")
    return Plans(
        monthly=recurring_price(sdk, product, 1000, "month", 1),
        monthly_dear=recurring_price(sdk, product, 3000, "month", 1),
        quarterly=recurring_price(sdk, product, 2700, "month", 3),
        annual=recurring_price(sdk, product, 10000, "year", 1),
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
    subscription = subscriber_on_clock(sdk, plans.monthly).subscription
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
    assert line_summary(invoice) == [
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
        assert len(events_about(sdk, invoice.id, event_type)) == 1, event_type
    updated = events_about(sdk, subscription.id, "customer.subscription.updated")[0]
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
    subscription = subscriber_on_clock(sdk, plans.monthly).subscription

    switched = _switch(sdk, subscription, plans.annual, proration_behavior="none")

    assert switched["items"].data[0].current_period_start == JAN_11_2026
    invoice = sdk.v1.invoices.retrieve(switched.latest_invoice)
    assert line_summary(invoice) == [(10000, False, JAN_11_2026, JAN_11_2026 + 365 * DAY)]
    assert (invoice.status, invoice.amount_paid) == ("paid", 10000)


def test_interval_count_change_is_an_interval_change(sdk: stripe.StripeClient) -> None:
    plans = _plans(sdk)
    subscription = subscriber_on_clock(sdk, plans.monthly).subscription

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
    assert line_summary(invoice) == [
        (MONTHLY_CREDIT, True, JAN_11_2026, FEB_1_2026),
        (2700, False, JAN_11_2026, apr_11_2026),
    ]


def test_annual_to_monthly_through_the_item_endpoint_restarts_a_monthly_period(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    subscription = subscriber_on_clock(sdk, plans.annual).subscription
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
    assert line_summary(invoice) == [
        (annual_credit, True, JAN_11_2026, JAN_1_2026 + 365 * DAY),
        (1000, False, JAN_11_2026, feb_11_2026),
    ]
    # The credit exceeds the new price: nothing is due and the rest stays on the balance.
    assert invoice.total == 1000 + annual_credit
    assert (invoice.amount_due, invoice.status) == (0, "paid")
    assert invoice.ending_balance == 1000 + annual_credit
    updated = events_about(sdk, subscription.id, "customer.subscription.updated")[0]
    assert (
        updated.data.previous_attributes["items"]["data"][0]["current_period_end"]
        == JAN_1_2026 + 365 * DAY
    )


def test_interval_change_on_a_failing_card_leaves_the_invoice_open_and_past_due(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    who = subscriber_on_clock(sdk, plans.monthly)
    subscription = who.subscription
    failing = sdk.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": who.customer}
    )
    sdk.v1.customers.update(
        who.customer, {"invoice_settings": {"default_payment_method": failing.id}}
    )

    switched = _switch(sdk, subscription, plans.annual)

    assert switched.status == "past_due"
    assert switched["items"].data[0].current_period_start == JAN_11_2026
    invoice = sdk.v1.invoices.retrieve(switched.latest_invoice)
    assert (invoice.status, invoice.attempt_count, invoice.amount_paid) == ("open", 1, 0)
    assert invoice.amount_due == 10000 + MONTHLY_CREDIT
    assert len(events_about(sdk, invoice.id, "invoice.payment_failed")) == 1
    assert events_about(sdk, invoice.id, "invoice.paid") == []
    assert sdk.v1.customers.retrieve(who.customer).delinquent is True


def test_interval_change_with_error_if_incomplete_on_a_failing_card_changes_nothing(
    sdk: stripe.StripeClient,
) -> None:
    plans = _plans(sdk)
    who = subscriber_on_clock(sdk, plans.monthly)
    subscription = who.subscription
    failing = sdk.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": who.customer}
    )
    sdk.v1.customers.update(
        who.customer, {"invoice_settings": {"default_payment_method": failing.id}}
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
    subscription = subscriber_on_clock(sdk, plans.monthly).subscription

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
    subscription = subscriber_on_clock(sdk, plans.monthly, trial_period_days=30).subscription

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
    who = subscriber_on_clock(sdk, plans.monthly)
    subscription = who.subscription
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
            "customer": who.customer,
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
    updated = events_about(sdk, subscription.id, "customer.subscription.updated")[0]
    assert (
        updated.data.previous_attributes["items"]["data"][0]["current_period_start"] == JAN_1_2026
    )
