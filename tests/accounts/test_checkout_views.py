from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from djstripe.models import Subscription

from accounts.models import User
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import (
    hosted_checkout_pay,
    plan_offer,
    plan_price_create,
    session_id_in,
    site_domain_set,
    subscription_start,
)
from tests.portal.test_stripe_client import closed_port

pytestmark = pytest.mark.django_db

CHECKOUT = "/subscription/checkout/"
CONFIRM = "/subscription/confirm/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def site(db):
    site_domain_set("portal.test")
    return "portal.test"


@pytest.fixture
def price(stripe_settings, monkeypatch):
    created = plan_price_create(unit_amount=1200)
    plan_offer(monkeypatch, created)
    return created


@pytest.fixture
def seat_price(stripe_settings, monkeypatch):
    created = plan_price_create(unit_amount=800)
    plan_offer(monkeypatch, created, per_seat=True)
    return created


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def session_for(location: str):
    return stripe_client().v1.checkout.sessions.retrieve(location.rstrip("/").rsplit("/", 1)[-1])


def quantity_of(session) -> int:
    return stripe_client().v1.checkout.sessions.line_items.list(session.id).data[0].quantity


# --- Starting a checkout -----------------------------------------------------------------------


def test_subscribing_redirects_to_hosted_checkout_with_303(logged_in, user, price, site):
    response = logged_in.post(CHECKOUT, {"price": price.id})

    assert response.status_code == 303
    assert "/_hosted/checkout/cs_" in response["Location"]
    session = session_for(response["Location"])
    assert session.client_reference_id == f"user:{user.pk}"
    assert session.success_url == (
        "http://portal.test/subscription/confirm/?session_id={CHECKOUT_SESSION_ID}"
    )
    assert session.cancel_url == "http://portal.test/subscription/checkout/canceled/?interval=month"


def test_absolute_urls_use_https_when_configured(logged_in, price, site, settings):
    settings.USE_HTTPS_IN_ABSOLUTE_URLS = True

    session = session_for(logged_in.post(CHECKOUT, {"price": price.id})["Location"])

    assert session.success_url.startswith("https://portal.test/subscription/confirm/")
    assert session.cancel_url.startswith("https://portal.test/subscription/checkout/canceled/")


def test_an_htmx_subscribe_gets_an_hx_redirect(logged_in, price, site):
    response = logged_in.post(CHECKOUT, {"price": price.id}, **HTMX)

    assert response.status_code == 200
    assert "/_hosted/checkout/cs_" in response["HX-Redirect"]


def test_a_per_seat_plan_buys_the_seats_chosen(logged_in, seat_price, site):
    response = logged_in.post(CHECKOUT, {"price": seat_price.id, "seats": "7"})

    assert quantity_of(session_for(response["Location"])) == 7


def test_back_from_checkout_shows_the_plans_chosen_from_saying_nothing_was_charged(
    logged_in, seat_price, site
):
    session = session_for(
        logged_in.post(CHECKOUT, {"price": seat_price.id, "seats": "7"})["Location"]
    )
    back = session.cancel_url.removeprefix("http://portal.test")

    response = logged_in.get(back, follow=True)

    assert response.redirect_chain == [("/pricing/?interval=month&seats=7", 302)]
    assert "You left Checkout before paying, so nothing was charged." in response.text
    assert Subscription.objects.count() == 0


@pytest.mark.parametrize("query", ["?interval=decade&seats=-4", "?seats=" + "9" * 40, ""])
def test_back_from_checkout_with_a_query_it_does_not_know_goes_to_the_plain_pricing_page(
    client, query
):
    response = client.get(f"/subscription/checkout/canceled/{query}")

    assert (response.status_code, response["Location"]) == (302, "/pricing/")


def test_a_flat_plan_buys_one_whatever_the_seats(logged_in, price, site):
    response = logged_in.post(CHECKOUT, {"price": price.id, "seats": "7"})

    assert quantity_of(session_for(response["Location"])) == 1


@pytest.mark.parametrize("kind", ["unknown", "not offered", "inactive", "one-time", "empty"])
def test_a_price_that_cannot_be_bought_is_refused(logged_in, user, price, monkeypatch, kind):
    if kind == "unknown":
        price_id = "price_does_not_exist"
    elif kind == "not offered":
        price_id = plan_price_create().id  # synced, active, but its product is not listed
    elif kind == "inactive":
        stripe_client().v1.prices.update(price.id, params={"active": False})
        from djstripe.models import Price

        Price.sync_from_stripe_data(stripe_client().v1.prices.retrieve(price.id))
        price_id = price.id
    elif kind == "one-time":
        one_time = stripe_client().v1.prices.create(
            params={"product": price.product.id, "currency": "usd", "unit_amount": 500}
        )
        from djstripe.models import Price

        price_id = Price.sync_from_stripe_data(one_time).id
    else:
        price_id = ""

    response = logged_in.post(CHECKOUT, {"price": price_id})

    assert response.status_code == 400
    assert "That plan is not available" in response.text
    user.refresh_from_db()
    assert user.customer is None


@pytest.mark.parametrize("seats", ["0", "-2", "abc", "10001", "2.5"])
def test_bad_seats_are_refused(logged_in, seat_price, seats):
    response = logged_in.post(CHECKOUT, {"price": seat_price.id, "seats": seats})

    assert response.status_code == 400
    assert "Seats must be a whole number" in response.text


def test_subscribing_needs_the_csrf_token(user, price):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.post(CHECKOUT, {"price": price.id}).status_code == 403


def test_a_logged_out_visitor_signs_up_and_lands_on_their_plan(
    client, seat_price, site, mailoutbox
):
    response = client.post(CHECKOUT, {"price": seat_price.id, "seats": "4"})

    assert response.status_code == 303
    signup = urlsplit(response["Location"])
    assert signup.path == reverse("account_signup")
    next_url = parse_qs(signup.query)["next"][0]
    assert next_url == f"{CHECKOUT}?price={seat_price.id}&seats=4"

    password = "a-long-unusual-passphrase"
    client.post(
        response["Location"],
        {"email": "new@example.com", "password1": password, "password2": password},
    )
    # Once the mailed link is followed (in the same browser), on to the plan.
    confirm = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", mailoutbox[0].body)
    verified = client.post(confirm.group(1))
    assert verified["Location"] == next_url
    landing = client.get(next_url)
    assert landing.status_code == 200
    assert f'data-chosen-plan="{seat_price.id}"' in landing.text
    assert "for 4 seats" in landing.text
    assert "Continue to payment" in landing.text

    onward = client.post(CHECKOUT, {"price": seat_price.id, "seats": "4"})
    assert onward.status_code == 303
    session = session_for(onward["Location"])
    assert session.client_reference_id == f"user:{User.objects.get(email='new@example.com').pk}"
    assert quantity_of(session) == 4


def test_a_logged_out_htmx_subscribe_is_sent_to_sign_up(client, price):
    response = client.post(CHECKOUT, {"price": price.id}, **HTMX)

    assert urlsplit(response["HX-Redirect"]).path == reverse("account_signup")


def test_a_subscriber_is_sent_to_the_change_screen_instead(logged_in, user, price):
    subscription_start(holder=user, price=price)

    response = logged_in.post(CHECKOUT, {"price": price.id})

    assert response.status_code == 303
    assert response["Location"] == f"{reverse('accounts:plan_change')}?price={price.id}"
    # Their own plan: the change screen says so, and charges nothing.
    page = logged_in.get(response["Location"])
    assert page.status_code == 400 and "That&#x27;s your current plan." in page.text


def test_stripe_unreachable_shows_a_retry_and_writes_nothing(
    logged_in, user, price, settings, caplog
):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    response = logged_in.post(CHECKOUT, {"price": price.id})

    assert response.status_code == 503
    assert "couldn&#x27;t reach our payment provider" in response.text
    assert "Try again" in response.text
    assert f'name="price" value="{price.id}"' in response.text
    assert "Stripe unavailable while trying to create your billing account" in caplog.text
    user.refresh_from_db()
    assert user.customer is None


# --- Coming back from Checkout -------------------------------------------------------------------


def paid_session(client, price) -> str:
    location = client.post(CHECKOUT, {"price": price.id})["Location"]
    return session_id_in(hosted_checkout_pay(location))


def test_the_confirm_url_links_the_subscription_at_once(logged_in, user, price, site):
    session_id = paid_session(logged_in, price)

    response = logged_in.get(CONFIRM, {"session_id": session_id})

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:subscription")
    user.refresh_from_db()
    assert user.subscription.status == "active"
    page = logged_in.get(response["Location"]).text
    assert "Your subscription is active" in page
    assert 'data-status="active"' in page


def test_confirming_twice_is_harmless(logged_in, user, price, site):
    session_id = paid_session(logged_in, price)
    logged_in.get(CONFIRM, {"session_id": session_id})
    user.refresh_from_db()
    first = user.subscription_id

    response = logged_in.get(CONFIRM, {"session_id": session_id})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.subscription_id == first


def test_an_unpaid_session_goes_back_to_pricing(logged_in, user, price, site):
    location = logged_in.post(CHECKOUT, {"price": price.id})["Location"]

    response = logged_in.get(CONFIRM, {"session_id": session_for(location).id})

    assert response["Location"] == reverse("pricing:pricing_page")
    user.refresh_from_db()
    assert user.subscription is None


def test_someone_elses_session_is_refused(logged_in, price, site, django_user_model):
    session_id = paid_session(logged_in, price)
    intruder = django_user_model.objects.create_user(email="eve@example.com", password="x")
    other = Client()
    other.force_login(intruder)

    response = other.get(CONFIRM, {"session_id": session_id})

    assert response.status_code == 403
    assert "belongs to another account" in response.text
    intruder.refresh_from_db()
    assert intruder.subscription is None


@pytest.mark.parametrize(("query", "status"), [({}, 400), ({"session_id": "cs_nope"}, 404)])
def test_a_missing_or_unknown_session_is_explained(logged_in, stripe_settings, query, status):
    response = logged_in.get(CONFIRM, query)

    assert response.status_code == status
    assert "data-billing-error" in response.text


def test_confirm_with_stripe_down_offers_a_retry(logged_in, user, price, site, settings):
    session_id = paid_session(logged_in, price)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    response = logged_in.get(CONFIRM, {"session_id": session_id})

    assert response.status_code == 503
    assert f'href="{CONFIRM}?session_id={session_id}"' in response.text
    user.refresh_from_db()
    assert user.subscription is None


def test_confirm_needs_a_login(client):
    response = client.get(CONFIRM, {"session_id": "cs_x"})

    assert response["Location"].startswith(reverse("account_login"))
