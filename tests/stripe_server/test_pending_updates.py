"""`payment_behavior=pending_if_incomplete`: an upgrade whose invoice is declined waits, unapplied,
until that invoice is paid, and is dropped when it expires.

Stripe's pending updates reference: a failed payment leaves the update in the subscription's
`pending_update` (answered with 200, the subscription otherwise unchanged) and its invoice open
as `latest_invoice`; paying it applies the update; at `expires_at` (at most 23 hours on) the
invoice is voided and the update discarded.
"""

from __future__ import annotations

import pytest
import stripe

from stripe_server.testing import LocalStripe
from tests.stripe_server.subscribers import (
    FEB_1_2026,
    JAN_1_2026,
    JAN_11_2026,
    events_about,
    product_create,
    recurring_price,
    subscriber_on_clock,
)

NOW = JAN_11_2026
HOURS_23 = 23 * 3600


def _share(total: int) -> int:
    """Stripe's per-second proration of `total` for what is left of January from `NOW`."""
    return round(total * (FEB_1_2026 - NOW) / (FEB_1_2026 - JAN_1_2026))


def _setup(sdk: stripe.StripeClient) -> tuple[str, stripe.Subscription, stripe.Price]:
    """A $20 subscriber since 1 Jan on its own clock, at 11 Jan, whose card now fails; and a
    $50 price to upgrade to. Returns the clock's id, the subscription and that price."""
    product = product_create(sdk, "Pending")
    basic, pro = recurring_price(sdk, product, 2000), recurring_price(sdk, product, 5000)
    who = subscriber_on_clock(sdk, basic, now=NOW)
    failing = sdk.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": who.customer}
    )
    sdk.v1.customers.update(
        who.customer, {"invoice_settings": {"default_payment_method": failing.id}}
    )
    return who.clock, who.subscription, pro


def _upgrade(
    sdk: stripe.StripeClient, subscription: stripe.Subscription, price: stripe.Price
) -> stripe.Subscription:
    return sdk.v1.subscriptions.update(
        subscription.id,
        {
            "items": [{"id": subscription["items"].data[0].id, "price": price.id}],
            "proration_behavior": "always_invoice",
            "payment_behavior": "pending_if_incomplete",
        },
    )


def test_a_declined_upgrade_waits_as_a_pending_update_with_its_invoice_open(
    sdk: stripe.StripeClient,
) -> None:
    _, subscription, pro = _setup(sdk)
    basic = subscription["items"].data[0].price.id

    answered = _upgrade(sdk, subscription, pro)

    assert answered.status == "active"
    assert answered["items"].data[0].price.id == basic
    pending = answered.pending_update
    assert [item.price.id for item in pending.subscription_items] == [pro.id]
    assert pending.expires_at == NOW + HOURS_23
    assert pending.billing_cycle_anchor is None
    invoice = sdk.v1.invoices.retrieve(answered.latest_invoice)
    assert invoice.status == "open"
    assert invoice.amount_due == _share(5000) - _share(2000)
    stored = sdk.v1.subscriptions.retrieve(subscription.id)
    assert stored["items"].data[0].price.id == basic
    assert stored.pending_update.expires_at == pending.expires_at
    customer = sdk.v1.customers.retrieve(subscription.customer)
    assert customer.delinquent is False


def test_paying_the_invoice_applies_the_pending_update(sdk: stripe.StripeClient) -> None:
    _, subscription, pro = _setup(sdk)
    answered = _upgrade(sdk, subscription, pro)
    good = sdk.v1.payment_methods.attach("pm_card_visa", {"customer": subscription.customer})

    paid = sdk.v1.invoices.pay(answered.latest_invoice, {"payment_method": good.id})

    assert paid.status == "paid"
    applied = sdk.v1.subscriptions.retrieve(subscription.id)
    assert applied.pending_update is None
    assert applied["items"].data[0].price.id == pro.id
    assert applied["items"].data[0].current_period_end == FEB_1_2026
    assert (
        len(events_about(sdk, subscription.id, "customer.subscription.pending_update_applied")) == 1
    )
    updates = events_about(sdk, subscription.id, "customer.subscription.updated")
    assert updates[0].data.object["items"].data[0].price.id == pro.id


def test_an_unpaid_pending_update_expires_and_its_invoice_is_voided(
    sdk: stripe.StripeClient,
) -> None:
    clock, subscription, pro = _setup(sdk)
    answered = _upgrade(sdk, subscription, pro)
    basic = subscription["items"].data[0].price.id

    sdk.v1.test_helpers.test_clocks.advance(clock, {"frozen_time": NOW + HOURS_23 + 60})

    expired = sdk.v1.subscriptions.retrieve(subscription.id)
    assert expired.pending_update is None
    assert expired["items"].data[0].price.id == basic
    assert sdk.v1.invoices.retrieve(answered.latest_invoice).status == "void"
    assert (
        len(events_about(sdk, subscription.id, "customer.subscription.pending_update_expired")) == 1
    )


def test_voiding_the_invoice_drops_the_pending_update(sdk: stripe.StripeClient) -> None:
    _, subscription, pro = _setup(sdk)
    answered = _upgrade(sdk, subscription, pro)

    sdk.v1.invoices.void_invoice(answered.latest_invoice)

    dropped = sdk.v1.subscriptions.retrieve(subscription.id)
    assert dropped.pending_update is None
    assert dropped["items"].data[0].price.id != pro.id


def test_a_paid_upgrade_with_pending_if_incomplete_applies_at_once(
    sdk: stripe.StripeClient,
) -> None:
    _, subscription, pro = _setup(sdk)
    good = sdk.v1.payment_methods.attach("pm_card_visa", {"customer": subscription.customer})
    sdk.v1.subscriptions.update(subscription.id, {"default_payment_method": good.id})

    answered = _upgrade(sdk, subscription, pro)

    assert answered.pending_update is None
    assert answered["items"].data[0].price.id == pro.id
    assert sdk.v1.invoices.retrieve(answered.latest_invoice).status == "paid"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"cancel_at_period_end": True}, "cancel_at_period_end"),
        ({"description": "nope"}, "description"),
    ],
)
def test_pending_if_incomplete_refuses_what_pending_updates_do_not_support(
    sdk: stripe.StripeClient, extra: dict, param: str
) -> None:
    _, subscription, pro = _setup(sdk)

    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.subscriptions.update(
            subscription.id,
            {
                "items": [{"id": subscription["items"].data[0].id, "price": pro.id}],
                "payment_behavior": "pending_if_incomplete",
                **extra,
            },
        )

    assert refused.value.param == param
    assert refused.value.user_message == (
        "When `payment_behavior` is set to `pending_if_incomplete`, you can only pass "
        f"supported params. `{param}` is not supported."
    )
    with pytest.raises(stripe.InvalidRequestError) as item_refused:
        sdk.v1.subscriptions.update(
            subscription.id,
            {
                "items": [
                    {"id": subscription["items"].data[0].id, "metadata": {"seat": "1"}},
                ],
                "payment_behavior": "pending_if_incomplete",
            },
        )
    assert item_refused.value.param == "items[0][metadata]"


def test_metadata_waits_with_the_update_since_the_version_that_allows_it(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    _, subscription, pro = _setup(sdk)
    change = {
        "items": [{"id": subscription["items"].data[0].id, "price": pro.id}],
        "proration_behavior": "always_invoice",
        "payment_behavior": "pending_if_incomplete",
        "metadata": {"plan": "pro"},
    }
    before_metadata = stripe.StripeClient(
        local_stripe.api_key,
        base_addresses={"api": local_stripe.api_base},
        stripe_version="2026-04-22.dahlia",
        max_network_retries=0,
    )

    with pytest.raises(stripe.InvalidRequestError) as refused:
        before_metadata.v1.subscriptions.update(subscription.id, change)
    answered = sdk.v1.subscriptions.update(subscription.id, change)

    assert refused.value.param == "metadata"
    assert answered.metadata.to_dict() == {}
    assert answered.pending_update.metadata.to_dict() == {"plan": "pro"}
    older = before_metadata.v1.subscriptions.retrieve(subscription.id)
    assert "metadata" not in older.pending_update
    good = sdk.v1.payment_methods.attach("pm_card_visa", {"customer": subscription.customer})
    sdk.v1.invoices.pay(answered.latest_invoice, {"payment_method": good.id})
    assert sdk.v1.subscriptions.retrieve(subscription.id).metadata.to_dict() == {"plan": "pro"}
