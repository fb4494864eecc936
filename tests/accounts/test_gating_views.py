"""Gating in views and templates: the decorator, the mixin, the template helpers, the
Subscription Demo tab, and plan groups kept in sync by webhooks."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.views.generic import TemplateView

from accounts.gating import ValidSubscriptionRequiredMixin, active_subscription_required
from accounts.middleware import request_holder_set
from accounts.models import User
from portal.stripe_client import stripe_client
from pricing import metadata as pricing_metadata
from tests.accounts.gating_support import (
    demo_plans_ensure,
    demo_price,
    plans_with_groups,
    subscribe,
    user_create,
)
from tests.accounts.webhooks.webhook_helpers import (
    SECRET,
    WebhookPoster,
    events_since,
    server_now,
)

pytestmark = pytest.mark.django_db

DEMO = "/subscription/demo/"
PRO_PAGE = "/subscription/demo/pro/"
MEMBERS_PAGE = "/subscription/demo/members/"
PRICING = "/pricing/"


@pytest.fixture
def plans(stripe_settings):
    demo_plans_ensure(stripe_settings.api_base)
    return stripe_settings


def logged_in(client, user: User):
    client.force_login(user)
    return client


def request_for(user) -> HttpRequest:
    request = RequestFactory().get("/somewhere/")
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    request_holder_set(request)  # as the middleware does
    return request


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- The decorator --------------------------------------------------------------------------------


def test_the_pro_page_sends_a_visitor_without_a_plan_to_pricing_naming_the_plan(client, plans):
    response = logged_in(client, user_create()).get(PRO_PAGE)

    assert response.status_code == 302
    assert response["Location"] == PRICING
    assert messages_of(response) == ["This needs the Pro plan. Choose a plan to continue."]


def test_the_pro_page_sends_another_plan_to_the_change_screen_and_says_which_one_it_has(
    client, plans
):
    user = user_create()
    subscribe(user, "starter")
    demo_price("pro")  # synced, as the change screen prices it

    response = logged_in(client, user).get(PRO_PAGE, follow=True)

    change = "/subscription/change/?plan=pro&next=%2Fsubscription%2Fdemo%2Fpro%2F"
    assert response.redirect_chain == [(change, 302)]
    page = response.content.decode()
    assert "This needs the Pro plan. You are on Starter. Upgrade to continue." in page
    assert 'data-change-kind="upgrade"' in page


def test_an_htmx_request_is_redirected_with_hx_redirect(client, plans):
    response = logged_in(client, user_create()).get(PRO_PAGE, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == PRICING


def test_a_pro_subscriber_sees_the_pro_page(client, plans):
    user = user_create()
    subscribe(user, "pro")

    response = logged_in(client, user).get(PRO_PAGE)

    assert response.status_code == 200
    assert b"data-pro-content" in response.content
    assert b"Only holders of the Pro plan see this page." in response.content


def test_a_gated_page_reads_the_session_user_and_billing_state_once(
    client, plans, django_assert_num_queries
):
    user = user_create()
    subscribe(user, "pro")
    browser = logged_in(client, user)

    # The session, the user and the billing state, which the gate and the page share.
    with django_assert_num_queries(3):
        response = browser.get(PRO_PAGE)

    assert response.status_code == 200
    assert b"data-pro-content" in response.content


def test_an_anonymous_visitor_is_sent_to_log_in(client, plans):
    response = client.get(PRO_PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/subscription/demo/pro/")


def test_the_bare_decorator_passes_the_holder_to_the_view(plans):
    @active_subscription_required
    def report(request: HttpRequest, subscription_holder=None) -> HttpResponse:
        return HttpResponse(f"report for {subscription_holder.email}")

    subscriber = user_create()
    subscribe(subscriber, "basic")
    nobody = user_create()

    assert report(request_for(subscriber)).content.decode() == f"report for {subscriber.email}"
    refused = report(request_for(nobody))
    assert refused.status_code == 302
    assert refused["Location"] == PRICING


def test_the_decorator_redirects_where_it_is_told(plans):
    @active_subscription_required(limit_to_plans=["team"], redirect_url="/subscription/")
    def team_page(request: HttpRequest, subscription_holder=None) -> HttpResponse:
        return HttpResponse("team")

    request = request_for(user_create())
    response = team_page(request)

    assert response["Location"] == "/subscription/"
    assert [str(m) for m in get_messages(request)] == [
        "This needs the Team plan. Choose a plan to continue."
    ]


def test_the_decorator_refuses_an_unknown_plan_when_it_is_applied():
    with pytest.raises(ImproperlyConfigured, match="No plan 'enterprise'"):
        active_subscription_required(limit_to_plans=["pro", "enterprise"])


# --- The mixin ------------------------------------------------------------------------------------


def test_the_members_page_needs_a_login_and_a_subscription(client, plans):
    assert client.get(MEMBERS_PAGE)["Location"].startswith("/accounts/login/")
    user = user_create()
    response = logged_in(client, user).get(MEMBERS_PAGE)
    assert response["Location"] == PRICING
    assert messages_of(response) == ["This needs a subscription. Choose a plan to continue."]

    subscribe(user, "basic")
    response = client.get(MEMBERS_PAGE)

    assert response.status_code == 200
    assert response.context["subscription_holder"] == user
    assert b"you are on Basic" in response.content


def test_the_mixin_limits_to_products_and_redirects_where_it_is_told(plans):
    class StarterOnly(ValidSubscriptionRequiredMixin, TemplateView):
        template_name = "accounts/subscription_demo_members.html"
        limit_to_products = ["starter", "prod_portal_pro"]
        redirect_url = "/subscription/"

    view = StarterOnly.as_view()
    basic, pro = user_create(), user_create()
    subscribe(basic, "basic")
    subscribe(pro, "pro")

    refused = view(request_for(basic))
    htmx_request = request_for(basic)
    htmx_request.htmx = True  # type: ignore[attr-defined]
    allowed = view(request_for(pro))

    assert refused["Location"] == "/subscription/"
    assert view(htmx_request)["HX-Redirect"] == "/subscription/"
    assert allowed.status_code == 200
    assert allowed.context_data["subscription_holder"] == pro


def test_the_mixin_refuses_an_unknown_product_when_the_class_is_defined():
    with pytest.raises(ImproperlyConfigured, match="No plan 'gold'"):

        class Gold(ValidSubscriptionRequiredMixin, TemplateView):
            limit_to_products = ["gold"]


# --- The Subscription Demo tab --------------------------------------------------------------------


def test_the_demo_tab_shows_the_upgrade_prompt_without_a_plan(client, plans):
    response = logged_in(client, user_create()).get(DEMO)
    page = response.content.decode()

    assert response.status_code == 200
    assert "data-upgrade-prompt" in page
    assert "This needs a subscription. Choose a plan to continue." in page
    assert "Locked: Pro" in page
    assert "You have no subscription yet." in page


def test_the_demo_tab_changes_with_the_plan(client, plans):
    starter, pro = user_create(), user_create()
    subscribe(starter, "starter")
    subscribe(pro, "pro")

    starter_page = logged_in(client, starter).get(DEMO).content.decode()
    pro_page = logged_in(client, pro).get(DEMO).content.decode()

    assert 'data-plan-content="starter"' in starter_page
    assert "Locked: Pro" in starter_page
    assert 'data-plan-content="pro"' in pro_page
    assert "data-upgrade-prompt" not in pro_page


def test_the_demo_tab_shows_the_subscription_details(client, plans):
    user = user_create()
    subscription = subscribe(user, "pro")

    response = logged_in(client, user).get(DEMO)
    summary = response.context["summary"]
    page = response.content.decode()

    assert summary.plan_name == "Pro"
    assert '<dd class="font-medium" data-detail="plan">Pro</dd>' in page
    assert "Visa ending in 4242" in page
    renews = subscription.stripe_data["items"]["data"][0]["current_period_end"]
    assert int(summary.renews_on.timestamp()) == renews
    assert f"{summary.renews_on:%B} {summary.renews_on.day}, {summary.renews_on.year}" in page


def test_the_demo_tab_needs_a_login(client):
    assert client.get(DEMO)["Location"].startswith("/accounts/login/")


def test_an_unsupported_method_is_refused(client, plans):
    assert logged_in(client, user_create()).post(DEMO).status_code == 405


# --- Plan groups, from webhooks ---------------------------------------------------------------


def test_webhooks_put_the_holder_in_its_plan_group_and_take_it_out(
    client, plans, monkeypatch, settings
):
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    poster = WebhookPoster(client=client, secret=SECRET)
    monkeypatch.setattr(pricing_metadata, "ACTIVE_PRODUCTS", plans_with_groups(pro="Pro"))
    user = user_create()
    since = server_now(plans)
    subscription = subscribe(user, "pro")
    created = [
        event
        for event in events_since(since, object_ids={subscription.id})
        if event["type"] == "customer.subscription.created"
    ]
    assert not user.groups.exists()

    assert poster.post(created[-1]).status_code == 200

    assert list(user.groups.values_list("name", flat=True)) == ["Pro"]
    since = server_now(plans)
    stripe_client().v1.subscriptions.cancel(subscription.id)
    deleted = [
        event
        for event in events_since(since, object_ids={subscription.id})
        if event["type"] == "customer.subscription.deleted"
    ]

    assert poster.post(deleted[-1]).status_code == 200

    assert not user.groups.exists()
    assert Group.objects.filter(name="Pro").exists()
