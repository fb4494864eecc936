"""Promotion codes in Checkout: the code field (`PORTAL_CHECKOUT_ALLOW_PROMOTION_CODES`), a
code applied from the start (`discounts`), and Stripe's refusals."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from accounts.billing.checkout import checkout_session_create
from accounts.billing.errors import PromotionCodeRefusedError
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import plan_price_create

pytestmark = pytest.mark.django_db

SUCCESS = "http://testserver/subscription/confirm/?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://testserver/pricing/"


def start_checkout(holder, price, **extra) -> str:
    return checkout_session_create(
        holder=holder, price_id=price.id, quantity=None, success_url=SUCCESS, cancel_url=CANCEL,
        **extra,
    )  # fmt: skip


def session_of(url: str):
    return stripe_client().v1.checkout.sessions.retrieve(url.rstrip("/").rsplit("/", 1)[-1])


def promotion_code_create(**coupon):
    client = stripe_client()
    made = client.v1.coupons.create(params={"percent_off": 20, "duration": "once", **coupon})
    code = f"T{uuid.uuid4().hex[:10].upper()}"
    return client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": made.id}, "code": code}
    )


def test_checkout_offers_the_code_field_by_default(stripe_settings, user):
    session = session_of(start_checkout(user, plan_price_create()))

    assert session.allow_promotion_codes is True


def test_the_setting_turns_the_code_field_off(stripe_settings, user, settings):
    settings.PORTAL_CHECKOUT_ALLOW_PROMOTION_CODES = False

    session = session_of(start_checkout(user, plan_price_create()))

    assert not session.allow_promotion_codes


@pytest.mark.parametrize("value", ["yes", 1, "true"])
def test_a_setting_that_is_not_a_boolean_fails_the_check(settings, value):
    settings.PORTAL_CHECKOUT_ALLOW_PROMOTION_CODES = value

    with pytest.raises(SystemCheckError, match=r"accounts\.E001.*must be True or False"):
        call_command("check")


def test_a_code_applied_from_the_start_goes_in_discounts_without_the_field(stripe_settings, user):
    code = promotion_code_create()

    session = session_of(start_checkout(user, plan_price_create(), promotion_code_id=code.id))

    assert [discount.promotion_code for discount in session.discounts] == [code.id]
    assert not session.allow_promotion_codes
    # 20% off $15.00.
    assert (session.amount_subtotal, session.amount_total) == (1500, 1500 - 300)


def test_a_code_stripe_refuses_says_why(stripe_settings, user):
    code = promotion_code_create()
    stripe_client().v1.promotion_codes.update(code.id, params={"active": False})

    with pytest.raises(PromotionCodeRefusedError):
        start_checkout(user, plan_price_create(), promotion_code_id=code.id)
