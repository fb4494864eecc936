from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections
from djstripe.models import Customer, Subscription

from accounts.billing.checkout import (
    checkout_session_create,
    checkout_session_sync,
    holder_customer_ensure,
    holder_subscription_refresh,
)
from accounts.billing.errors import (
    CheckoutSessionNotYoursError,
    CheckoutSessionUnknownError,
    HolderAlreadySubscribedError,
)
from accounts.models import User
from portal.stripe_client import StripeUnavailableError, stripe_client
from tests.accounts.billing_helpers import (
    hosted_checkout_pay,
    plan_price_create,
    session_id_in,
    subscription_start,
)
from tests.portal.test_stripe_client import closed_port

pytestmark = pytest.mark.django_db

SUCCESS = "http://testserver/subscription/confirm/?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://testserver/pricing/"


def start_checkout(holder, price, quantity=None) -> str:
    return checkout_session_create(
        holder=holder, price_id=price.id, quantity=quantity, success_url=SUCCESS, cancel_url=CANCEL
    )


def session_of(url: str):
    session_id = url.rstrip("/").rsplit("/", 1)[-1]
    return stripe_client().v1.checkout.sessions.retrieve(session_id)


def test_checkout_creates_and_links_a_customer_named_after_the_holder(stripe_settings, user):
    price = plan_price_create()

    url = start_checkout(user, price, quantity=3)

    user.refresh_from_db()
    assert user.customer is not None
    stripe_customer = stripe_client().v1.customers.retrieve(user.customer.id)
    assert stripe_customer.email == user.email
    assert stripe_customer.metadata["portal_holder"] == f"user:{user.pk}"
    session = session_of(url)
    assert session.customer == user.customer.id
    assert session.client_reference_id == f"user:{user.pk}"
    assert session.mode == "subscription"
    assert session.success_url == SUCCESS
    assert session.cancel_url == CANCEL
    items = stripe_client().v1.checkout.sessions.line_items.list(session.id)
    assert [(item.price.id, item.quantity) for item in items.data] == [(price.id, 3)]


def test_checkout_reuses_the_holders_customer(stripe_settings, user):
    price = plan_price_create()
    first = session_of(start_checkout(user, price))
    second = session_of(start_checkout(user, price))

    assert first.customer == second.customer
    assert Customer.objects.filter(id=first.customer).count() == 1


def test_checkout_without_a_quantity_buys_one(stripe_settings, user):
    price = plan_price_create()
    session = session_of(start_checkout(user, price))

    items = stripe_client().v1.checkout.sessions.line_items.list(session.id)
    assert items.data[0].quantity == 1


def test_checkout_refuses_a_holder_who_already_subscribes(stripe_settings, user):
    price = plan_price_create()
    subscription_start(holder=user, price=price)

    with pytest.raises(HolderAlreadySubscribedError, match="change its plan instead"):
        start_checkout(user, price)


def test_an_unreachable_stripe_leaves_nothing_half_written(stripe_settings, settings, user):
    price = plan_price_create()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    with pytest.raises(StripeUnavailableError):
        start_checkout(user, price)

    user.refresh_from_db()
    assert user.customer is None


def test_sync_of_a_paid_session_links_the_subscription(stripe_settings, user):
    price = plan_price_create()
    back = hosted_checkout_pay(start_checkout(user, price, quantity=2))

    holder = checkout_session_sync(session_id=session_id_in(back), holder=user)

    assert holder == user
    user.refresh_from_db()
    assert user.subscription is not None
    assert user.subscription.status == "active"
    assert user.subscription.customer_id == user.customer.id
    assert user.subscription.stripe_data["items"]["data"][0]["quantity"] == 2


def test_sync_finds_the_holder_without_being_told(stripe_settings, user):
    price = plan_price_create()
    back = hosted_checkout_pay(start_checkout(user, price))

    assert checkout_session_sync(session_id=session_id_in(back)) == user
    user.refresh_from_db()
    assert user.subscription is not None


def test_sync_twice_gives_the_same_result(stripe_settings, user):
    price = plan_price_create()
    session_id = session_id_in(hosted_checkout_pay(start_checkout(user, price)))

    checkout_session_sync(session_id=session_id, holder=user)
    user.refresh_from_db()
    first = (user.customer_id, user.subscription_id)
    checkout_session_sync(session_id=session_id)
    user.refresh_from_db()

    assert (user.customer_id, user.subscription_id) == first
    assert Subscription.objects.filter(customer__id=user.customer.id).count() == 1


def test_sync_of_an_unpaid_session_links_nothing(stripe_settings, user):
    price = plan_price_create()
    session = session_of(start_checkout(user, price))

    assert checkout_session_sync(session_id=session.id, holder=user) is None
    user.refresh_from_db()
    assert user.subscription is None


def test_sync_refuses_someone_elses_session(stripe_settings, user, django_user_model):
    price = plan_price_create()
    session_id = session_id_in(hosted_checkout_pay(start_checkout(user, price)))
    intruder = django_user_model.objects.create_user(email="eve@example.com", password="x")

    with pytest.raises(CheckoutSessionNotYoursError):
        checkout_session_sync(session_id=session_id, holder=intruder)

    intruder.refresh_from_db()
    assert intruder.subscription is None
    assert intruder.customer is None


@pytest.mark.parametrize("session_id", ["cs_does_not_exist", "not-a-session", ""])
def test_sync_of_an_unknown_session_says_so(stripe_settings, user, session_id):
    with pytest.raises(CheckoutSessionUnknownError):
        checkout_session_sync(session_id=session_id, holder=user)


def test_a_second_paid_checkout_is_canceled_not_kept(stripe_settings, user):
    price = plan_price_create()
    # Two tabs: both checkouts start before either is paid.
    first_url = start_checkout(user, price)
    second_url = start_checkout(user, price)
    first = session_id_in(hosted_checkout_pay(first_url))
    second = session_id_in(hosted_checkout_pay(second_url))

    checkout_session_sync(session_id=first, holder=user)
    user.refresh_from_db()
    kept = user.subscription.id
    checkout_session_sync(session_id=second, holder=user)
    user.refresh_from_db()

    assert user.subscription.id == kept
    live = [
        subscription.id
        for subscription in stripe_client()
        .v1.subscriptions.list(params={"customer": user.customer.id, "status": "all"})
        .data
        if subscription.status in ("active", "trialing", "past_due")
    ]
    assert live == [kept]


@pytest.mark.django_db(transaction=True)
def test_confirm_and_webhook_racing_link_one_subscription(stripe_settings, django_user_model):
    holder = django_user_model.objects.create_user(email="race@example.com", password="x")
    price = plan_price_create()
    session_id = session_id_in(hosted_checkout_pay(start_checkout(holder, price)))
    errors: list[BaseException] = []

    def sync(owner) -> None:
        try:
            checkout_session_sync(session_id=session_id, holder=owner)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=sync, args=(holder,)),  # the confirm page
        threading.Thread(target=sync, args=(None,)),  # the webhook
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    holder.refresh_from_db()
    assert holder.subscription is not None
    assert holder.subscription.status == "active"
    assert Subscription.objects.filter(customer__id=holder.customer.id).count() == 1


def test_refresh_points_the_holder_at_its_live_subscription(stripe_settings, user):
    price = plan_price_create()
    old = subscription_start(holder=user, price=price)
    stripe_client().v1.subscriptions.cancel(old)
    new = stripe_client().v1.subscriptions.create(
        params={
            "customer": user.customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    for subscription_id in (old, new.id):
        Subscription.sync_from_stripe_data(
            stripe_client().v1.subscriptions.retrieve(subscription_id)
        )

    holder_subscription_refresh(customer_id=user.customer.id)

    user.refresh_from_db()
    assert user.subscription.id == new.id


def test_refresh_for_an_unknown_customer_does_nothing(stripe_settings, user):
    holder_subscription_refresh(customer_id="cus_nobody")

    user.refresh_from_db()
    assert user.subscription is None


def test_the_customer_is_created_once_however_often_asked(stripe_settings, user):
    first = holder_customer_ensure(holder=user)
    second = holder_customer_ensure(holder=User.objects.get(pk=user.pk))

    assert first.id == second.id


def test_a_discounted_subscription_syncs_with_its_discount_coupon_and_invoices(
    stripe_settings, user
):
    from djstripe.models import Coupon, Discount, Invoice

    client = stripe_client()
    price = plan_price_create(unit_amount=2000)
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})

    subscription_id = subscription_start(
        holder=user, price=price, discounts=[{"coupon": coupon.id}]
    )

    [discount_id] = client.v1.subscriptions.retrieve(subscription_id).discounts
    stored = Discount.objects.get(id=discount_id)
    assert stored.subscription_id == subscription_id
    assert stored.stripe_data["source"] == {"type": "coupon", "coupon": coupon.id}
    # The coupon was not synced before: the discount brought it in.
    assert Coupon.objects.get(id=coupon.id).percent_off == 10
    # $20.00 less 10%.
    [invoice] = Invoice.objects.filter(customer__id=user.customer.id)
    assert (invoice.stripe_data["subtotal"], invoice.stripe_data["total"]) == (2000, 1800)
