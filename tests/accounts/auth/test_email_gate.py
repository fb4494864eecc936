"""An unverified address: the person can log in and look around, but not subscribe or touch
billing until they follow the mailed link (with `ACCOUNT_EMAIL_VERIFICATION=mandatory`)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from tests.accounts.auth.auth_helpers import PASSWORD, link_in, signup
from tests.accounts.billing_helpers import plan_offer, plan_price_create, site_domain_set

pytestmark = pytest.mark.django_db

CHECKOUT = "/subscription/checkout/"
GATE = "/accounts/verify-email/"


@pytest.fixture
def price(stripe_settings, monkeypatch):
    site_domain_set("portal.test")
    created = plan_price_create(unit_amount=5000)
    plan_offer(monkeypatch, created)
    return created


@pytest.fixture
def unverified(mailoutbox) -> Client:
    """Someone who signed up, did not follow the link, and logged in later with their password."""
    signup(Client(), email="unverified@example.com")
    mailoutbox.clear()
    cache.clear()  # later: the sign-up's verification mail no longer holds back another
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": "unverified@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def gate_next(response) -> str:
    parts = urlsplit(response["Location"])
    assert parts.path == GATE
    return parse_qs(parts.query)["next"][0]


def test_an_unverified_user_can_log_in_and_is_told_why_billing_waits(unverified):
    home = unverified.get("/", follow=True)

    assert home.status_code == 200
    assert "not verified yet" in home.text
    assert "Not verified" in unverified.get("/accounts/profile/").text


def test_an_unverified_user_is_kept_from_checkout(unverified, price):
    response = unverified.post(
        CHECKOUT, {"price": price.id}, HTTP_REFERER="http://testserver/pricing/"
    )

    assert response.status_code == 303
    assert gate_next(response) == "/pricing/"
    page = unverified.get(response["Location"])
    assert "Verify your email address" in page.text
    assert "unverified@example.com" in page.text
    assert "Send the link again" in page.text

    landing = unverified.get(CHECKOUT, {"price": price.id})
    assert gate_next(landing) == f"{CHECKOUT}?price={price.id}"


@pytest.mark.parametrize(
    "path",
    ["/subscription/billing/", "/subscription/add-card/", "/subscription/change/keep/"],
)
def test_an_unverified_user_is_kept_from_billing(unverified, path):
    response = unverified.post(path)

    assert response.status_code == 303
    assert urlsplit(response["Location"]).path == GATE


def test_an_unverified_user_is_kept_from_plan_changes(unverified, price):
    response = unverified.get("/subscription/change/", {"price": price.id})

    assert gate_next(response) == f"/subscription/change/?price={price.id}"


def test_an_htmx_request_is_sent_to_the_gate_page(unverified, price):
    response = unverified.post(
        CHECKOUT,
        {"price": price.id},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/pricing/?interval=year",
    )

    assert urlsplit(response["HX-Redirect"]).path == GATE


def test_the_resend_button_mails_a_link_that_verifies_and_returns_to_checkout(
    unverified, price, mailoutbox
):
    here = f"{CHECKOUT}?price={price.id}"
    gate = unverified.get(here)["Location"]

    response = unverified.post(GATE, {"next": here})
    assert response.status_code == 303
    assert "We sent a new link" in unverified.get(response["Location"]).text
    assert len(mailoutbox) == 1
    # A second one straight away is refused: the first link still works.
    again = unverified.post(GATE, {"next": here})
    assert again.status_code == 429
    assert "a moment ago" in again.text
    assert len(mailoutbox) == 1

    verified = unverified.post(link_in(mailoutbox[0], "/accounts/confirm-email/"))

    assert verified["Location"] == here
    assert EmailAddress.objects.get(email="unverified@example.com").verified
    landing = unverified.get(here)
    assert landing.status_code == 200
    assert f'data-chosen-plan="{price.id}"' in landing.text
    assert unverified.get(gate).status_code == 302  # the gate page has nothing left to say


def test_with_optional_verification_nothing_is_gated(unverified, price, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"

    response = unverified.get(CHECKOUT, {"price": price.id})

    assert response.status_code == 200
    assert "Continue to payment" in response.text


def test_users_created_in_code_are_verified(user):
    assert EmailAddress.objects.get(user=user).verified
    assert EmailAddress.objects.get(user=user).primary
    assert User.objects.get(pk=user.pk).email == "ada@example.com"
