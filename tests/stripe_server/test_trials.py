"""Free trials: what a trial's end does without a payment method, the trial's $0 invoice,
Checkout trials that collect no card, and resuming a subscription paused at the trial's end.

Subscriptions live on their own test clocks (`subscribers.py`'s calendar: 1 January 2026), so
every date and amount below is worked out here, never asked of the server.
"""

from __future__ import annotations

import uuid

import pytest
import stripe

from stripe_server.testing import LocalStripe
from tests.stripe_server.hosted_pages import post_form
from tests.stripe_server.subscribers import JAN_1_2026, product_create, recurring_price

DAY = 86400
SUCCESS = "http://127.0.0.1:9/billing/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://127.0.0.1:9/pricing"
VISA = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"}


def _email() -> str:
    return f"trial-{uuid.uuid4().hex[:10]}@example.com"


def _end_behavior(behavior: str) -> dict:
    return {"end_behavior": {"missing_payment_method": behavior}}


def _cardless_customer_on_clock(sdk: stripe.StripeClient) -> tuple[str, str]:
    """A customer with no payment method on a fresh clock at 1 Jan 2026: (clock, customer)."""
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": JAN_1_2026})
    customer = sdk.v1.customers.create({"email": _email(), "test_clock": clock.id})
    return clock.id, customer.id


def _server_now(local_stripe: LocalStripe) -> int:
    return int(local_stripe.admin("GET", "/_local/clock")["now"])


# --- trial_settings ------------------------------------------------------------------------


def test_a_subscription_invoices_at_the_trials_end_unless_told_otherwise(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    _clock, customer = _cardless_customer_on_clock(sdk)

    subscription = sdk.v1.subscriptions.create(
        {"customer": customer, "items": [{"price": price.id}], "trial_period_days": 14}
    )

    assert subscription.trial_settings.end_behavior.missing_payment_method == "create_invoice"


def test_trial_settings_are_taken_on_create_and_on_update(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    _clock, customer = _cardless_customer_on_clock(sdk)

    created = sdk.v1.subscriptions.create(
        {
            "customer": customer,
            "items": [{"price": price.id}],
            "trial_period_days": 14,
            "trial_settings": _end_behavior("pause"),
        }
    )
    updated = sdk.v1.subscriptions.update(created.id, {"trial_settings": _end_behavior("cancel")})

    assert created.trial_settings.end_behavior.missing_payment_method == "pause"
    assert updated.trial_settings.end_behavior.missing_payment_method == "cancel"
    assert (
        sdk.v1.subscriptions.retrieve(created.id).trial_settings.end_behavior.missing_payment_method
        == "cancel"
    )
    changed = [
        event
        for event in sdk.v1.events.list(
            {"type": "customer.subscription.updated", "limit": 100}
        ).auto_paging_iter()
        if event.data.object.id == created.id
        and "trial_settings" in (event.data.get("previous_attributes") or {})
    ]
    assert len(changed) == 1
    previous = changed[0].data.previous_attributes.trial_settings
    assert previous.end_behavior.missing_payment_method == "pause"


def test_an_unknown_trial_end_behavior_is_refused_naming_the_parameter(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    _clock, customer = _cardless_customer_on_clock(sdk)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.subscriptions.create(
            {
                "customer": customer,
                "items": [{"price": price.id}],
                "trial_period_days": 14,
                "trial_settings": _end_behavior("forget"),
            }
        )

    assert raised.value.param == "trial_settings[end_behavior][missing_payment_method]"
    assert sdk.v1.subscriptions.list({"customer": customer}).data == []


# --- Checkout: subscription_data[trial_end], [trial_settings], payment_method_collection ----


def _session(sdk: stripe.StripeClient, price_id: str, **extra: object) -> stripe.checkout.Session:
    return sdk.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "line_items": [{"price": price_id, "quantity": 1}],
            "success_url": SUCCESS,
            "cancel_url": CANCEL,
            **extra,
        }
    )


def test_checkout_passes_trial_end_and_trial_settings_to_the_subscription(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    trial_end = _server_now(local_stripe) + 10 * DAY
    session = _session(
        sdk,
        price.id,
        customer_email=_email(),
        subscription_data={"trial_end": trial_end, "trial_settings": _end_behavior("pause")},
    )
    assert session.amount_total == 0
    assert session.payment_method_collection == "always"

    assert post_form(session.url, VISA).status == 303

    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert done.payment_status == "no_payment_required"
    assert done.subscription.status == "trialing"
    assert done.subscription.trial_end == trial_end
    assert done.subscription.trial_settings.end_behavior.missing_payment_method == "pause"


def test_checkout_refuses_a_trial_end_less_than_two_days_away(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    soon = _server_now(local_stripe) + 2 * DAY - 60

    with pytest.raises(stripe.InvalidRequestError) as raised:
        _session(sdk, price.id, subscription_data={"trial_end": soon})

    assert raised.value.param == "subscription_data[trial_end]"
    assert "at least 2 days in the future" in str(raised.value.user_message)


def test_checkout_echoes_payment_method_collection(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)

    session = _session(
        sdk,
        price.id,
        payment_method_collection="if_required",
        subscription_data={"trial_period_days": 7},
    )

    assert session.payment_method_collection == "if_required"
    assert sdk.v1.checkout.sessions.retrieve(session.id).payment_method_collection == "if_required"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _session(sdk, price.id, payment_method_collection="sometimes")
    assert raised.value.param == "payment_method_collection"


# --- the trial's $0 invoice ----------------------------------------------------------------


def test_the_trials_first_invoice_has_a_zero_line_per_item(sdk: stripe.StripeClient) -> None:
    pro = sdk.v1.products.create({"name": f"Pro {uuid.uuid4().hex[:6]}"})
    seats = sdk.v1.products.create({"name": f"Seats {uuid.uuid4().hex[:6]}"})
    pro_price = recurring_price(sdk, pro.id, 1500)
    seat_price = recurring_price(sdk, seats.id, 700)
    _clock, customer = _cardless_customer_on_clock(sdk)

    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer,
            "items": [{"price": pro_price.id}, {"price": seat_price.id, "quantity": 3}],
            "trial_period_days": 14,
        }
    )

    invoice = sdk.v1.invoices.retrieve(subscription.latest_invoice)
    trial_end = JAN_1_2026 + 14 * DAY
    assert invoice.billing_reason == "subscription_create"
    assert invoice.status == "paid"
    assert (invoice.total, invoice.amount_due, invoice.amount_paid) == (0, 0, 0)
    lines = sorted(invoice.lines.data, key=lambda line: line.quantity)
    assert [
        (line.description, line.amount, line.quantity, line.period.start, line.period.end)
        for line in lines
    ] == [
        (f"Trial period for {pro.name}", 0, 1, JAN_1_2026, trial_end),
        (f"Trial period for {seats.name}", 0, 3, JAN_1_2026, trial_end),
    ]
    for line, item_price in zip(lines, (pro_price, seat_price), strict=True):
        details = line.parent.subscription_item_details
        assert details.proration is False
        assert details.subscription == subscription.id
        assert line.pricing.price_details.price == item_price.id
        assert line.pricing.unit_amount_decimal == 0


def test_the_trial_line_before_basil_names_its_price_and_costs_nothing_per_unit(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    _clock, customer = _cardless_customer_on_clock(sdk)
    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer,
            "items": [{"price": price.id, "quantity": 2}],
            "trial_period_days": 7,
        }
    )

    old = sdk.v1.invoices.retrieve(
        subscription.latest_invoice, options={"stripe_version": "2024-09-30.acacia"}
    )

    line = old.lines.data[0]
    assert (line.type, line.amount, line.quantity, line.proration) == ("subscription", 0, 2, False)
    assert line.price.id == price.id
    assert line.unit_amount_excluding_tax == "0"
