"""Free trials from the pricing page through Checkout: what the cards say, what Checkout is
asked for, and one trial per holder, checked on the server."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from accounts.billing.checkout import holder_customer_ensure
from accounts.billing.state import billing_state
from accounts.teams.services import team_create
from portal.stripe_client import stripe_client
from pricing import metadata as pricing_metadata
from tests.accounts.billing_helpers import (
    DAY,
    clock_customer_create,
    hosted_checkout_pay,
    plan_offer,
    plan_price_create,
    site_domain_set,
    subscription_start,
)
from tests.accounts.gating_support import demo_plans_ensure, demo_price
from tests.stripe_server.hosted_pages import get_page, post_form

pytestmark = pytest.mark.django_db

CHECKOUT = "/subscription/checkout/"
PRICING = "/pricing/"


@pytest.fixture
def site(db):
    site_domain_set("portal.test")
    return "portal.test"


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def demo_plans(stripe_settings):
    demo_plans_ensure(stripe_settings.api_base)
    for slug in ("basic", "starter", "pro", "team-seats", "seat-packs"):
        demo_price(slug)
        demo_price(slug, "year")


def card_html(page: str, slug: str) -> str:
    start = page.index(f'data-plan="{slug}"')
    return page[start : page.index("</article>", start)]


def session_of(location: str):
    return stripe_client().v1.checkout.sessions.retrieve(location.rstrip("/").rsplit("/", 1)[-1])


# --- The pricing page --------------------------------------------------------------------------


def test_the_pricing_page_offers_the_demo_trials_to_a_visitor(client, demo_plans):
    page = client.get(PRICING).content.decode()

    pro, starter, basic = (card_html(page, slug) for slug in ("pro", "starter", "basic"))
    assert "Start your 14-day free trial" in pro
    assert "14 days free, then $50 per month" in pro
    assert "No card needed" not in pro
    assert "Start your 7-day free trial" in starter
    assert "7 days free, then $25 per month. No card needed" in starter
    assert "Subscribe to Basic" in basic
    assert "free trial" not in basic
    # The trial is part of what the button sends on to Checkout.
    assert 'name="trial" value="1"' in pro
    assert 'name="trial" value="1"' not in basic


def test_the_yearly_toggle_words_the_trial_with_the_yearly_price(client, demo_plans):
    page = client.get(PRICING, {"interval": "year"}).content.decode()

    assert "14 days free, then $500 per year" in card_html(page, "pro")


def test_a_holder_who_had_a_trial_sees_subscribe(logged_in, user, demo_plans):
    subscription_id = subscription_start(
        holder=user, price=demo_price("basic"), trial_period_days=3
    )
    stripe_client().v1.subscriptions.cancel(subscription_id)
    logged_in.get("/subscription/?from=billing-portal")  # read the cancellation in

    page = logged_in.get(PRICING).content.decode()

    assert "Subscribe to Pro" in card_html(page, "pro")
    assert "free trial" not in page
    assert 'name="trial"' not in page


def test_a_per_seat_trial_prices_the_seats_chosen(client, monkeypatch, stripe_settings):
    price = plan_price_create(unit_amount=800)
    offered = plan_offer(monkeypatch, price, per_seat=True, trial_days=30)

    page = client.get(PRICING, {"seats": 3}).content.decode()

    # 3 seats at $8.
    assert "30 days free, then $24 per month for 3 seats" in card_html(page, offered.slug)


# --- Checkout ----------------------------------------------------------------------------------


def test_a_card_trial_checks_out_and_starts_trialing_with_a_zero_first_invoice(
    logged_in, user, demo_plans, site
):
    pro = demo_price("pro")
    response = logged_in.post(CHECKOUT, {"price": pro.id, "trial": "1"})
    assert response.status_code == 303
    back = hosted_checkout_pay(response["Location"])

    confirmed = logged_in.get(back.replace("http://portal.test", ""))

    assert confirmed.status_code == 302
    user.refresh_from_db()
    state = billing_state(holder=user)
    assert state.status == "trialing"
    assert state.has_card
    assert state.trial_end - state.trial_start == (
        datetime.fromtimestamp(14 * DAY, tz=UTC) - datetime.fromtimestamp(0, tz=UTC)
    )
    subscription = stripe_client().v1.subscriptions.retrieve(state.subscription_id)
    invoice = stripe_client().v1.invoices.retrieve(subscription.latest_invoice)
    assert invoice.amount_due == 0
    assert [line.amount for line in invoice.lines.data] == [0]


def test_a_trial_of_a_plan_without_one_is_refused(logged_in, user, demo_plans, site):
    basic = demo_price("basic")

    response = logged_in.post(CHECKOUT, {"price": basic.id, "trial": "1"})

    assert response.status_code == 303
    assert response["Location"] == f"{CHECKOUT}?price={basic.id}"
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == ["That plan has no free trial."]


def test_a_second_trial_is_refused_on_the_server(logged_in, user, demo_plans, site):
    pro = demo_price("pro")
    # A trial this database has not heard of yet (its webhooks are still on the way): the
    # server asks Stripe.
    customer = holder_customer_ensure(holder=user)
    first = stripe_client().v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": demo_price("starter").id}],
            "trial_period_days": 7,
        }
    )
    stripe_client().v1.subscriptions.cancel(first.id)
    assert not billing_state(holder=user).had_trial
    sessions_before = (
        stripe_client().v1.checkout.sessions.list(params={"customer": user.customer.id}).data
    )

    response = logged_in.post(CHECKOUT, {"price": pro.id, "trial": "1"})

    assert response.status_code == 303
    assert response["Location"] == f"{CHECKOUT}?price={pro.id}"
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == ["You have already had a free trial, so subscribing starts your plan now."]
    sessions_after = (
        stripe_client().v1.checkout.sessions.list(params={"customer": user.customer.id}).data
    )
    assert len(sessions_after) == len(sessions_before)
    # The page it lands on offers the plan without a trial.
    page = logged_in.get(response["Location"]).content.decode()
    assert "Continue to payment" in page
    assert "Start your free trial" not in page
    assert 'name="trial"' not in page


def test_starting_a_trial_expires_the_holders_other_open_checkouts(
    logged_in, user, demo_plans, site
):
    pro = demo_price("pro")
    first = session_of(logged_in.post(CHECKOUT, {"price": pro.id, "trial": "1"})["Location"])

    second = session_of(logged_in.post(CHECKOUT, {"price": pro.id, "trial": "1"})["Location"])

    assert stripe_client().v1.checkout.sessions.retrieve(first.id).status == "expired"
    assert second.status == "open"


def test_a_visitor_signs_up_and_lands_on_the_trial(client, demo_plans, site):
    pro = demo_price("pro")

    chosen = client.get(CHECKOUT, {"price": pro.id, "trial": "1"})

    assert chosen.status_code in (302, 303)
    assert chosen["Location"].startswith("/accounts/signup/?next=")
    assert "trial%3D1" in chosen["Location"]


def test_the_trial_checkout_page_names_the_trial(logged_in, demo_plans):
    starter = demo_price("starter")

    page = logged_in.get(CHECKOUT, {"price": starter.id, "trial": "1"}).content.decode()

    assert "Starts with a 7-day free trial; no card needed." in page
    assert "Start your free trial" in page
    assert 'name="trial" value="1"' in page


def test_a_team_trial_is_the_teams_and_prices_its_members(
    client, user, stripe_settings, settings, monkeypatch, site, django_user_model
):
    settings.PORTAL_SUBSCRIPTION_HOLDER = "team"
    price = plan_price_create(unit_amount=800)
    plan_offer(monkeypatch, price, per_seat=True, trial_days=10)
    team = team_create(name="Trial team", creator=user)
    for number in range(2):
        member = django_user_model.objects.create_user(
            email=f"member{number}-{team.pk}@example.com", password="a-long-passphrase"
        )
        team.memberships.create(user=member)
    client.force_login(user)

    response = client.post(CHECKOUT, {"price": price.id, "trial": "1", "seats": "1"})
    back = hosted_checkout_pay(response["Location"])
    client.get(back.replace("http://portal.test", ""))

    team.refresh_from_db()
    state = billing_state(holder=team)
    assert state.status == "trialing"
    assert state.seats == 3
    assert billing_state(holder=user).subscription_id is None


# --- The system check --------------------------------------------------------------------------


@pytest.mark.parametrize("days", [-1, 731, 1.5, True, "14"])
def test_a_trial_that_stripe_would_refuse_fails_the_check(monkeypatch, days):
    shipped = pricing_metadata.ACTIVE_PRODUCTS[0]
    broken = type(shipped)(
        stripe_id=shipped.stripe_id, slug=shipped.slug, name=shipped.name, trial_days=days
    )
    monkeypatch.setattr(pricing_metadata, "ACTIVE_PRODUCTS", [broken])

    with pytest.raises(SystemCheckError, match=r"pricing\.E006.*trial_days="):
        call_command("check")


def test_a_no_card_setting_without_a_trial_fails_the_check(monkeypatch):
    shipped = pricing_metadata.ACTIVE_PRODUCTS[0]
    broken = type(shipped)(
        stripe_id=shipped.stripe_id, slug=shipped.slug, name=shipped.name,
        trial_requires_card=False,
    )  # fmt: skip
    monkeypatch.setattr(pricing_metadata, "ACTIVE_PRODUCTS", [broken])

    with pytest.raises(SystemCheckError, match=r"pricing\.E007"):
        call_command("check")


@pytest.mark.parametrize("value", ["keep", "create_invoice"])
def test_the_missing_card_setting_fails_the_check(settings, value):
    settings.PORTAL_TRIAL_MISSING_PAYMENT_METHOD = value

    with pytest.raises(SystemCheckError, match=r"accounts\.E001.*must be 'cancel' or 'pause'"):
        call_command("check")


# --- A trial without a card --------------------------------------------------------------------


def test_a_no_card_trial_checks_out_without_a_card_and_asks_for_one_on_the_status_page(
    logged_in, user, demo_plans, site
):
    starter = demo_price("starter")
    response = logged_in.post(CHECKOUT, {"price": starter.id, "trial": "1"})
    hosted = get_page(response["Location"])
    assert 'name="card_number"' not in hosted.text
    done = post_form(response["Location"], {})
    assert done.status == 303

    logged_in.get(done.location.replace("http://portal.test", ""))

    user.refresh_from_db()
    state = billing_state(holder=user)
    assert (state.status, state.has_card) == ("trialing", False)
    subscription = stripe_client().v1.subscriptions.retrieve(state.subscription_id)
    assert subscription.trial_settings.end_behavior.missing_payment_method == "cancel"
    page = logged_in.get("/subscription/").content.decode()
    ends = datetime.fromtimestamp(subscription.trial_end, tz=UTC)
    days = (ends.date() - datetime.now(tz=UTC).date()).days
    assert f"{days} days left (ends {ends.day} {ends:%B}), then $25 per month" in page
    assert "Add a card to keep Starter" in page
    # Seven days are left: too early for the banner on every page.
    assert "data-trial-ending-banner" not in page


def test_the_pause_setting_reaches_checkout(logged_in, user, demo_plans, site, settings):
    settings.PORTAL_TRIAL_MISSING_PAYMENT_METHOD = "pause"
    response = logged_in.post(CHECKOUT, {"price": demo_price("starter").id, "trial": "1"})
    done = post_form(response["Location"], {})
    logged_in.get(done.location.replace("http://portal.test", ""))

    user.refresh_from_db()
    subscription = stripe_client().v1.subscriptions.retrieve(user.subscription.id)
    assert subscription.trial_settings.end_behavior.missing_payment_method == "pause"


def test_every_page_warns_in_the_last_three_days_of_a_trial_without_a_card(
    logged_in, user, demo_plans
):
    # A customer on a test clock set to now: the trial's end is two days from Portal's now,
    # whatever other tests did to the server's own clock.
    clock_customer_create(holder=user, frozen_time=int(time.time()))
    stripe_client().v1.subscriptions.create(
        params={
            "customer": user.customer.id,
            "items": [{"price": demo_price("starter").id}],
            "trial_period_days": 2,
            "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
        }
    )
    logged_in.get("/subscription/?from=billing-portal")

    for path in ("/", "/pricing/", "/accounts/profile/"):
        page = logged_in.get(path).content.decode()
        assert "data-trial-ending-banner" in page, path
        assert "there is no card on file" in page


def test_a_card_on_file_silences_the_banner(logged_in, user, demo_plans):
    clock_customer_create(holder=user, frozen_time=int(time.time()))
    subscription_start(holder=user, price=demo_price("starter"), trial_period_days=2)
    assert billing_state(holder=user).is_trialing

    page = logged_in.get("/").content.decode()

    assert "data-trial-ending-banner" not in page
