"""The gate: status rules, plans, messages, the one-query budget, and plan groups."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template
from django.test import RequestFactory

from accounts.gating import (
    holder_groups_sync,
    holder_plan,
    request_gate,
    subscription_gate,
)
from accounts.middleware import request_holder_set
from accounts.models import User
from portal.stripe_client import stripe_client
from pricing import metadata as pricing_metadata
from tests.accounts.gating_support import (
    demo_plans_ensure,
    demo_price,
    plans_with_groups,
    resync,
    subscribe,
    subscription_set_as_stripe_sends,
    user_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def plans(stripe_settings):
    demo_plans_ensure(stripe_settings.api_base)
    return stripe_settings


def test_no_holder_and_no_subscription_fail_with_a_message_naming_the_plan(plans):
    assert subscription_gate(holder=None, limit_to_plans=["pro"]).message == (
        "This needs the Pro plan."
    )
    user = user_create()

    result = subscription_gate(holder=user, limit_to_plans=["pro"])

    assert not result.passed
    assert result.reason == "no_subscription"
    assert "the Pro plan" in result.message
    assert "a subscription" in subscription_gate(holder=user).message


def test_an_active_subscription_passes_on_its_plan_and_fails_on_others(plans):
    user = user_create()
    subscribe(user, "pro")

    assert subscription_gate(holder=user).passed
    assert subscription_gate(holder=user, limit_to_plans=["pro"]).passed
    assert subscription_gate(holder=user, limit_to_plans=["basic", "pro"]).passed
    # A Stripe product id names the plan too.
    assert subscription_gate(holder=user, limit_to_plans=["prod_portal_pro"]).passed
    refused = subscription_gate(holder=user, limit_to_plans=["starter", "team"])
    assert not refused.passed
    assert refused.reason == "wrong_plan"
    assert (
        refused.message
        == "This needs the Starter or Team plan. You are on Pro. Upgrade to continue."
    )


def test_holder_plan_reads_the_plan_and_the_period_from_the_subscription_item(plans):
    user = user_create()
    subscription = subscribe(user, "starter")

    current = holder_plan(holder=user)

    item = subscription.stripe_data["items"]["data"][0]
    assert current.slug == "starter"
    assert current.name == "Starter"
    assert current.status == "active"
    assert int(current.period_start.timestamp()) == item["current_period_start"]
    assert int(current.period_end.timestamp()) == item["current_period_end"]
    assert current.period_end > current.period_start


def test_a_trialing_subscription_passes(plans):
    user = user_create()
    subscription = subscribe(user, "pro", trial_period_days=14)

    assert subscription.status == "trialing"
    assert subscription_gate(holder=user, limit_to_plans=["pro"]).passed


def test_past_due_passes_during_the_grace_period_counted_from_the_unpaid_period(plans, settings):
    user = user_create()
    # A one-day trial on a card whose charges fail: the first real invoice fails -> past_due.
    subscribe(user, "pro", trial_period_days=1, payment_method="pm_card_chargeCustomerFail")
    plans.advance_clock(2 * 86400)
    subscription = resync(user)
    assert subscription.status == "past_due"
    unpaid_from = holder_plan(holder=user).period_start

    inside = subscription_gate(holder=user, now=unpaid_from + timedelta(days=6, hours=23))
    after = subscription_gate(holder=user, now=unpaid_from + timedelta(days=7, seconds=1))

    assert inside.passed
    assert inside.grace_ends == unpaid_from + timedelta(days=7)
    assert not after.passed
    assert after.reason == "grace_ended"
    assert "Update your payment method" in after.message

    settings.PORTAL_PAST_DUE_GRACE_DAYS = 10
    assert subscription_gate(holder=user, now=unpaid_from + timedelta(days=9)).passed
    settings.PORTAL_PAST_DUE_GRACE_DAYS = 0
    assert not subscription_gate(holder=user, now=unpaid_from).passed


def test_a_canceled_subscription_fails(plans):
    user = user_create()
    subscription = subscribe(user, "pro")
    stripe_client().v1.subscriptions.cancel(subscription.id)
    assert resync(user).status == "canceled"

    result = subscription_gate(holder=user, limit_to_plans=["pro"])

    assert not result.passed
    assert result.reason == "status"
    assert result.message == "Your subscription has ended. This needs the Pro plan."


def test_an_incomplete_subscription_fails_and_so_does_an_expired_one(plans):
    user = user_create()
    subscription = subscribe(user, "pro", payment_behavior="default_incomplete")
    assert subscription.status == "incomplete"
    assert not subscription_gate(holder=user).passed

    plans.advance_clock(24 * 3600)

    assert resync(user).status == "incomplete_expired"
    result = subscription_gate(holder=user)
    assert not result.passed
    assert "expired before its first payment" in result.message


def test_an_unpaid_subscription_fails(plans):
    user = user_create()
    subscription = subscribe(user, "pro")
    subscription_set_as_stripe_sends(subscription, status="unpaid")
    user.refresh_from_db()

    result = subscription_gate(holder=user)

    assert not result.passed
    assert result.message == "Your subscription is unpaid. Choose a plan to continue."


def test_cancel_at_period_end_passes_until_the_period_ends(plans):
    user = user_create()
    subscription = subscribe(user, "pro")
    stripe_client().v1.subscriptions.update(subscription.id, params={"cancel_at_period_end": True})
    assert resync(user).cancel_at_period_end
    period_end = holder_plan(holder=user).period_end

    assert subscription_gate(holder=user, limit_to_plans=["pro"]).passed
    assert subscription_gate(holder=user, now=period_end - timedelta(seconds=1)).passed
    # Stripe's update to `canceled` may not have arrived yet: the end still locks.
    ended = subscription_gate(holder=user, now=period_end)
    assert not ended.passed
    assert ended.reason == "period_ended"
    assert ended.message == "Your subscription has ended. Choose a plan to continue."


def test_an_unknown_plan_name_is_a_configuration_error(plans):
    with pytest.raises(ImproperlyConfigured, match="No plan 'platinum'"):
        subscription_gate(holder=user_create(), limit_to_plans=["platinum"])


def test_a_bad_grace_period_setting_is_a_configuration_error(plans, settings):
    user = user_create()
    subscribe(user, "pro", trial_period_days=1, payment_method="pm_card_chargeCustomerFail")
    plans.advance_clock(2 * 86400)
    resync(user)
    settings.PORTAL_PAST_DUE_GRACE_DAYS = -1

    with pytest.raises(ImproperlyConfigured, match="PORTAL_PAST_DUE_GRACE_DAYS"):
        subscription_gate(holder=user)


def test_gating_a_request_costs_one_query_however_often_it_is_asked(
    plans, django_assert_num_queries
):
    subscriber = user_create()
    subscribe(subscriber, "pro")
    request = RequestFactory().get("/")
    request.user = User.objects.get(pk=subscriber.pk)  # the user is loaded, as by the session
    request_holder_set(request)  # as the middleware does
    template = Template(
        "{% load subscription_gating %}"
        "{% if request|has_active_subscription %}member{% endif %}"
        '{% if request|has_plan:"pro" %}pro{% endif %}'
        '{% if request|has_plan:"starter" %}starter{% endif %}'
        '{% subscription_gate request "team" as gate %}{{ gate.passed }}'
    )

    with django_assert_num_queries(1):
        assert request_gate(request, limit_to_plans=["pro"]).passed
        assert request_gate(request).passed
        assert template.render(Context({"request": request})) == "memberproFalse"


def test_a_holder_without_a_subscription_costs_no_query(plans, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = user_create()
    request_holder_set(request)

    with django_assert_num_queries(0):
        assert not request_gate(request).passed


# --- Plan groups --------------------------------------------------------------------------------


def test_groups_follow_the_plan_so_has_perm_works(plans, monkeypatch):
    monkeypatch.setattr(
        pricing_metadata, "ACTIVE_PRODUCTS", plans_with_groups(pro="Pro", starter="Starter")
    )
    permission = Permission.objects.get(codename="view_user")
    Group.objects.get_or_create(name="Pro")[0].permissions.add(permission)
    user = user_create()
    subscribe(user, "pro")
    unrelated = Group.objects.create(name="Beta testers")
    user.groups.add(unrelated)

    assert holder_groups_sync(holder=user) == {"Pro"}
    fresh = User.objects.get(pk=user.pk)
    assert fresh.has_perm("accounts.view_user")
    assert set(fresh.groups.values_list("name", flat=True)) == {"Pro", "Beta testers"}

    stripe_client().v1.subscriptions.cancel(user.subscription.id)
    resync(user)

    assert holder_groups_sync(holder=user) == set()
    fresh = User.objects.get(pk=user.pk)
    assert not fresh.has_perm("accounts.view_user")
    # Groups no plan names are left alone.
    assert list(fresh.groups.values_list("name", flat=True)) == ["Beta testers"]


def test_moving_to_another_plan_moves_the_holder_between_groups(plans, monkeypatch):
    monkeypatch.setattr(
        pricing_metadata, "ACTIVE_PRODUCTS", plans_with_groups(pro="Pro", starter="Starter")
    )
    user = user_create()
    subscription = subscribe(user, "starter")
    holder_groups_sync(holder=user)
    assert list(user.groups.values_list("name", flat=True)) == ["Starter"]

    item = subscription.stripe_data["items"]["data"][0]
    stripe_client().v1.subscriptions.update(
        subscription.id,
        params={"items": [{"id": item["id"], "price": demo_price("pro").id}]},
    )
    resync(user)

    assert holder_groups_sync(holder=User.objects.get(pk=user.pk)) == {"Pro"}
    assert list(user.groups.values_list("name", flat=True)) == ["Pro"]
