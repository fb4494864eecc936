"""Customers, test cards, subscriptions and invoices, through the `stripe` SDK."""

from __future__ import annotations

import pytest
import stripe

from stripe_server.testing import LocalStripe

DAY = 86400


def _seat_price(sdk: stripe.StripeClient, **extra: object) -> stripe.Price:
    product = sdk.v1.products.create({"name": "Seats"})
    params = {
        "product": product.id,
        "currency": "usd",
        "billing_scheme": "tiered",
        "tiers_mode": "graduated",
        "tiers": [{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}],
        "recurring": {"interval": "month"},
        **extra,
    }
    return sdk.v1.prices.create(params)


def _flat_price(sdk: stripe.StripeClient, amount: int = 2000) -> stripe.Price:
    product = sdk.v1.products.create({"name": "Plan"})
    return sdk.v1.prices.create(
        {"product": product.id, "currency": "usd", "unit_amount": amount,
         "recurring": {"interval": "month"}}
    )  # fmt: skip


def _customer(sdk: stripe.StripeClient, token: str = "pm_card_visa") -> stripe.Customer:
    return sdk.v1.customers.create(
        {
            "email": "ada@example.com",
            "payment_method": token,
            "invoice_settings": {"default_payment_method": token},
        }
    )


def test_card_4242_attaches_and_becomes_the_default(sdk: stripe.StripeClient) -> None:
    customer = sdk.v1.customers.create({"email": "ada@example.com"})
    method = sdk.v1.payment_methods.create(
        {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12,
                                  "exp_year": 2034, "cvc": "123"}}
    )  # fmt: skip
    assert method.card.last4 == "4242"
    assert method.card.brand == "visa"
    sdk.v1.payment_methods.attach(method.id, {"customer": customer.id})
    updated = sdk.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": method.id}}
    )
    assert updated.invoice_settings.default_payment_method == method.id
    listed = sdk.v1.payment_methods.list({"customer": customer.id})
    assert [m.id for m in listed.data] == [method.id]


def test_card_0002_is_declined_when_attached(sdk: stripe.StripeClient) -> None:
    customer = sdk.v1.customers.create({})
    method = sdk.v1.payment_methods.create(
        {"type": "card", "card": {"number": "4000000000000002", "exp_month": 1,
                                  "exp_year": 2035}}
    )  # fmt: skip
    with pytest.raises(stripe.CardError) as raised:
        sdk.v1.payment_methods.attach(method.id, {"customer": customer.id})
    assert raised.value.http_status == 402
    assert raised.value.code == "card_declined"
    assert sdk.v1.payment_methods.retrieve(method.id).customer is None


def test_invalid_card_number_is_a_card_error(sdk: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as raised:
        sdk.v1.payment_methods.create(
            {"type": "card", "card": {"number": "4242424242424241", "exp_month": 1,
                                      "exp_year": 2035}}
        )  # fmt: skip
    assert raised.value.code == "incorrect_number"


def test_seven_graduated_seats_are_invoiced_66_dollars_and_paid(
    sdk: stripe.StripeClient,
) -> None:
    price = _seat_price(sdk)
    customer = _customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id, "quantity": 7}],
         "expand": ["latest_invoice"]}
    )  # fmt: skip
    assert subscription.status == "active"
    invoice = subscription.latest_invoice
    assert invoice.total == 6600
    assert invoice.amount_paid == 6600
    assert invoice.status == "paid"
    assert invoice.parent.subscription_details.subscription == subscription.id
    assert invoice.lines.data[0].period.end == subscription["items"].data[0].current_period_end
    item = subscription["items"].data[0]
    assert item.price.id == price.id
    assert item.subscription == subscription.id


def test_trial_period_days_gives_trialing_and_a_zero_invoice(
    sdk: stripe.StripeClient,
) -> None:
    price = _flat_price(sdk)
    customer = _customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 14,
         "expand": ["latest_invoice"]}
    )  # fmt: skip
    assert subscription.status == "trialing"
    assert subscription.trial_end - subscription.trial_start == 14 * DAY
    assert subscription.latest_invoice.total == 0


def test_card_0341_attaches_but_the_first_payment_fails_leaving_incomplete(
    sdk: stripe.StripeClient,
) -> None:
    price = _flat_price(sdk)
    customer = _customer(sdk, "pm_card_chargeCustomerFail")
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}], "expand": ["latest_invoice"]}
    )
    assert subscription.status == "incomplete"
    assert subscription.latest_invoice.status == "open"
    assert subscription.latest_invoice.attempt_count == 1
    types = [e.type for e in sdk.v1.events.list({"types": ["invoice.payment_failed"]}).data]
    assert "invoice.payment_failed" in types
    # Paying with a good card completes the subscription.
    good = sdk.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    paid = sdk.v1.invoices.pay(subscription.latest_invoice.id, {"payment_method": good.id})
    assert paid.status == "paid"
    assert sdk.v1.subscriptions.retrieve(subscription.id).status == "active"


def test_error_if_incomplete_declines_with_402_and_changes_nothing(
    sdk: stripe.StripeClient,
) -> None:
    price = _flat_price(sdk)
    customer = _customer(sdk, "pm_card_chargeCustomerFail")
    events_before = {e.id for e in sdk.v1.events.list({"limit": 100}).auto_paging_iter()}
    with pytest.raises(stripe.CardError):
        sdk.v1.subscriptions.create(
            {"customer": customer.id, "items": [{"price": price.id}],
             "payment_behavior": "error_if_incomplete"}
        )  # fmt: skip
    listed = sdk.v1.subscriptions.list({"customer": customer.id, "status": "all"})
    assert listed.data == []
    assert sdk.v1.invoices.list({"customer": customer.id}).data == []
    # No event about this customer: the shared server's other events may come meanwhile.
    listed_events = sdk.v1.events.list({"limit": 100}).auto_paging_iter()
    about_customer = [
        e
        for e in listed_events
        if e.id not in events_before
        and customer.id in (e.data.object.id, e.data.object.get("customer"))
    ]
    assert about_customer == []


def test_quantity_change_with_always_invoice_bills_the_proration_now(
    sdk: stripe.StripeClient,
) -> None:
    price = _seat_price(sdk)
    customer = _customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id, "quantity": 5}]}
    )
    item = subscription["items"].data[0]
    updated = sdk.v1.subscriptions.update(
        subscription.id,
        {"items": [{"id": item.id, "quantity": 7}], "proration_behavior": "always_invoice"},
    )
    assert updated["items"].data[0].quantity == 7
    invoice = sdk.v1.invoices.retrieve(updated.latest_invoice)
    assert invoice.billing_reason == "subscription_update"
    # Almost the whole period remains: about 6600 - 5000 for the added two seats.
    assert 1500 <= invoice.total <= 1600
    assert sorted(line.amount < 0 for line in invoice.lines.data) == [False, True]


def test_price_change_with_create_prorations_waits_for_the_next_invoice(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    cheap, dear = _flat_price(sdk, 1000), _flat_price(sdk, 3000)
    customer = _customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": cheap.id}]}
    )
    item = subscription["items"].data[0]
    sdk.v1.subscriptions.update(
        subscription.id,
        {"items": [{"id": item.id, "price": dear.id}], "proration_behavior": "create_prorations"},
    )
    pending = sdk.v1.invoice_items.list({"customer": customer.id, "pending": True}).data
    assert len(pending) == 2
    local_stripe.advance_clock(32 * DAY)
    renewed = sdk.v1.subscriptions.retrieve(subscription.id)
    invoice = sdk.v1.invoices.retrieve(renewed.latest_invoice)
    assert invoice.billing_reason == "subscription_cycle"
    assert len(invoice.lines.data) == 3
    assert invoice.total == 3000 + sum(i.amount for i in pending)


def test_renewal_with_failing_card_goes_past_due_then_recovers(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    price = _flat_price(sdk)
    customer = _customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}]}
    )
    failing = sdk.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    sdk.v1.customers.update(
        customer.id, {"invoice_settings": {"default_payment_method": failing.id}}
    )
    local_stripe.advance_clock(32 * DAY)
    renewed = sdk.v1.subscriptions.retrieve(subscription.id)
    assert renewed.status == "past_due"
    assert (
        renewed["items"].data[0].current_period_start
        == subscription["items"].data[0].current_period_end
    )
    assert sdk.v1.customers.retrieve(customer.id).delinquent is True
    invoice = sdk.v1.invoices.retrieve(renewed.latest_invoice)
    assert invoice.status == "open"
    good = sdk.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    sdk.v1.invoices.pay(invoice.id, {"payment_method": good.id})
    assert sdk.v1.subscriptions.retrieve(subscription.id).status == "active"


def test_cancel_at_period_end_cancels_at_renewal(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    price = _flat_price(sdk)
    customer = _customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}]}
    )
    pending_cancel = sdk.v1.subscriptions.update(subscription.id, {"cancel_at_period_end": True})
    assert pending_cancel.cancel_at_period_end is True
    assert pending_cancel.status == "active"
    local_stripe.advance_clock(32 * DAY)
    ended = sdk.v1.subscriptions.retrieve(subscription.id)
    assert ended.status == "canceled"
    assert ended.ended_at == subscription["items"].data[0].current_period_end


def test_delete_cancels_immediately_and_hides_from_default_list(
    sdk: stripe.StripeClient,
) -> None:
    price = _flat_price(sdk)
    customer = _customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}]}
    )
    canceled = sdk.v1.subscriptions.cancel(subscription.id)
    assert canceled.status == "canceled"
    assert sdk.v1.subscriptions.list({"customer": customer.id}).data == []
    everything = sdk.v1.subscriptions.list({"customer": customer.id, "status": "all"})
    assert [s.id for s in everything.data] == [subscription.id]


def test_subscription_items_can_be_listed_added_and_updated(sdk: stripe.StripeClient) -> None:
    base, addon = _flat_price(sdk, 1000), _flat_price(sdk, 500)
    customer = _customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": base.id}]}
    )
    added = sdk.v1.subscription_items.create(
        {"subscription": subscription.id, "price": addon.id, "quantity": 2,
         "proration_behavior": "none"}
    )  # fmt: skip
    sdk.v1.subscription_items.update(added.id, {"quantity": 3, "proration_behavior": "none"})
    listed = sdk.v1.subscription_items.list({"subscription": subscription.id})
    assert {(i.price.id, i.quantity) for i in listed.data} == {(base.id, 1), (addon.id, 3)}
    sdk.v1.subscription_items.delete(added.id, {"proration_behavior": "none"})
    assert len(sdk.v1.subscriptions.retrieve(subscription.id)["items"].data) == 1


def test_inactive_price_cannot_start_a_subscription(sdk: stripe.StripeClient) -> None:
    price = _flat_price(sdk)
    sdk.v1.prices.update(price.id, {"active": False})
    customer = _customer(sdk)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    assert raised.value.param == "items[0][price]"
