"""A holder's billing state is read from dj-stripe's rows, in one query, in today's shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from accounts.billing.checkout import holder_customer_ensure, holder_subscription_sync
from accounts.billing.state import NO_SUBSCRIPTION, billing_state
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import plan_offer, plan_price_create, subscription_start

pytestmark = pytest.mark.django_db


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def test_no_holder_or_no_subscription_reads_nothing(user, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        assert billing_state(holder=None) is NO_SUBSCRIPTION
        assert billing_state(holder=user) is NO_SUBSCRIPTION
    assert not NO_SUBSCRIPTION.is_live
    assert NO_SUBSCRIPTION.current_price_ids == frozenset()


def test_the_plan_item_period_card_and_seats_come_from_one_query(
    stripe_settings, user, monkeypatch, django_assert_num_queries
) -> None:
    add_on = plan_price_create(unit_amount=500)  # a product pricing.metadata does not list
    plan_price = plan_price_create(unit_amount=1200)
    offered = plan_offer(monkeypatch, plan_price, per_seat=True)
    customer = holder_customer_ensure(holder=user)
    client = stripe_client()
    created = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": add_on.id}, {"price": plan_price.id, "quantity": 4}],
            "default_payment_method": "pm_card_mastercard",
        }
    )
    holder_subscription_sync(holder=user)
    user.refresh_from_db()
    stripe_item = created["items"].data[1]

    with django_assert_num_queries(1):
        state = billing_state(holder=user)

    assert state.subscription_id == created.id
    assert state.status == "active" and state.is_live
    assert state.plan == offered
    assert state.plan_item is not None and state.plan_item.price_id == plan_price.id
    assert state.seats == 4
    assert state.period_start == _at(stripe_item.current_period_start)
    assert state.period_end == _at(stripe_item.current_period_end)
    assert state.renews_on == state.period_end and state.cancels_on is None
    assert (state.card_brand, state.card_last4) == ("mastercard", "4444")
    assert state.current_price_ids == {add_on.id, plan_price.id}
    assert state.current_product_ids == {add_on.product.id, plan_price.product.id}


def test_set_to_cancel_it_ends_at_the_period_end_and_does_not_renew(
    stripe_settings, user, monkeypatch
) -> None:
    price = plan_price_create(unit_amount=900)
    plan_offer(monkeypatch, price)
    subscription_id = subscription_start(holder=user, price=price)
    stripe_client().v1.subscriptions.update(subscription_id, params={"cancel_at_period_end": True})
    holder_subscription_sync(holder=user)
    user.refresh_from_db()
    period_end = stripe_client().v1.subscriptions.retrieve(subscription_id)["items"].data[0]

    state = billing_state(holder=user)

    assert state.cancels_on == _at(period_end.current_period_end)
    assert state.renews_on is None


def test_credit_on_the_customer_balance_is_read(stripe_settings, user, monkeypatch) -> None:
    price = plan_price_create(unit_amount=2500)
    plan_offer(monkeypatch, price)
    subscription_start(holder=user, price=price)
    client = stripe_client()
    client.v1.customers.balance_transactions.create(
        user.customer.id, params={"amount": -700, "currency": "usd"}
    )
    holder_subscription_sync(holder=user)
    user.refresh_from_db()

    state = billing_state(holder=user)

    assert (state.balance, state.credit, state.balance_currency) == (-700, 700, "usd")


def test_without_a_card_of_its_own_the_subscription_pays_with_the_customers_default(
    stripe_settings, user, monkeypatch, django_assert_num_queries
) -> None:
    price = plan_price_create(unit_amount=1100)
    plan_offer(monkeypatch, price)
    customer = holder_customer_ensure(holder=user)
    client = stripe_client()
    card = client.v1.payment_methods.attach("pm_card_amex", params={"customer": customer.id})
    client.v1.customers.update(
        customer.id, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    created = client.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}]}
    )
    assert created.default_payment_method is None
    holder_subscription_sync(holder=user)
    user.refresh_from_db()

    with django_assert_num_queries(1):
        state = billing_state(holder=user)

    assert state.payment_method_id == card.id
    assert (state.card_brand, state.card_last4) == ("amex", "0005")  # 3782 822463 10005


def test_the_discount_its_coupon_and_its_code_come_in_the_same_query(
    stripe_settings, user, monkeypatch, django_assert_num_queries
) -> None:
    from pricing.services import coupon_sync, promotion_code_sync

    price = plan_price_create(unit_amount=3000)
    plan_offer(monkeypatch, price)
    client = stripe_client()
    coupon = client.v1.coupons.create(
        params={"percent_off": 20, "duration": "repeating", "duration_in_months": 3}
    )
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}}
    )
    coupon_sync(coupon_id=coupon.id)
    promotion_code_sync(promotion_code_id=code.id)
    subscription_id = subscription_start(
        holder=user, price=price, discounts=[{"promotion_code": code.id}]
    )
    user.refresh_from_db()
    discount = client.v1.subscriptions.retrieve(
        subscription_id, params={"expand": ["discounts"]}
    ).discounts[0]

    with django_assert_num_queries(1):
        state = billing_state(holder=user)

    assert state.discount is not None
    assert state.discount.id == discount.id
    assert state.discount.coupon is not None
    assert (state.discount.coupon.percent_off, state.discount.coupon.duration_in_months) == (20, 3)
    assert (state.discount.start, state.discount.end) == (_at(discount.start), _at(discount.end))
    assert (state.discount.promotion_code_id, state.discount.code) == (code.id, code.code)
    assert not state.discount.spent


def test_without_a_discount_there_is_none(stripe_settings, user, monkeypatch) -> None:
    price = plan_price_create(unit_amount=3000)
    plan_offer(monkeypatch, price)
    subscription_start(holder=user, price=price)
    user.refresh_from_db()

    assert billing_state(holder=user).discount is None
