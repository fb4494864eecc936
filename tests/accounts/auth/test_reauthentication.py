"""Reauthentication before Manage billing, plan changes and team role changes, once the
session's last login is older than `ACCOUNT_REAUTHENTICATION_TIMEOUT` (300 s)."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.auth.decorators import SESSION_AUTHENTICATED_AT_KEY
from accounts.billing.state import billing_state
from accounts.models import Membership
from tests.accounts.billing_helpers import plan_offer, plan_price_create, subscription_start
from tests.accounts.teams.team_helpers import member_join, team_with_members

pytestmark = pytest.mark.django_db

MANAGE = "/subscription/billing/"
CHANGE = "/subscription/change/"
REAUTHENTICATE = "/accounts/reauthenticate/"


def logged_in_long_ago(user, *, seconds: int = 301) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_AUTHENTICATED_AT_KEY] = time.time() - seconds
    session.save()
    return client


def sent_to_reauthenticate(response, *, back_to: str) -> None:
    assert response.status_code == 302
    parts = urlsplit(response["Location"])
    assert parts.path == REAUTHENTICATE
    assert parse_qs(parts.query)["next"] == [back_to]


@pytest.fixture
def subscriber(stripe_settings, user):
    subscription_start(holder=user, price=plan_price_create())
    return user


def test_manage_billing_right_after_logging_in_asks_nothing(subscriber, password):
    client = Client()
    client.post("/accounts/login/", {"login": subscriber.email, "password": password})

    assert "/_hosted/portal/" in client.post(MANAGE)["Location"]


def test_manage_billing_after_the_timeout_asks_for_the_password_then_opens_the_portal(
    subscriber, password
):
    client = logged_in_long_ago(subscriber)

    response = client.post(MANAGE)
    sent_to_reauthenticate(response, back_to=MANAGE)
    page = client.get(response["Location"])
    assert page.status_code == 200 and "data-account-page" in page.text
    wrong = client.post(REAUTHENTICATE, {"password": "not-it", "next": MANAGE})
    assert wrong.status_code == 200

    response = client.post(REAUTHENTICATE, {"password": password, "next": MANAGE})

    # The Manage billing click is made once the password is confirmed.
    assert response.status_code == 303
    assert "/_hosted/portal/" in response["Location"]
    assert "/_hosted/portal/" in client.post(MANAGE)["Location"]  # recent again


def test_just_within_the_timeout_asks_nothing(subscriber):
    client = logged_in_long_ago(subscriber, seconds=290)

    assert "/_hosted/portal/" in client.post(MANAGE)["Location"]


def test_an_htmx_request_is_sent_to_reauthenticate_and_back_to_its_page(subscriber):
    client = logged_in_long_ago(subscriber)

    response = client.post(
        MANAGE, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/subscription/"
    )

    parts = urlsplit(response["HX-Redirect"])
    assert parts.path == REAUTHENTICATE
    assert parse_qs(parts.query)["next"] == ["/subscription/"]


def test_a_plan_change_is_previewed_freely_and_made_after_the_password(
    stripe_settings, user, password, monkeypatch
):
    basic = plan_price_create(unit_amount=1500)
    pro = plan_price_create(unit_amount=5000)
    plan_offer(monkeypatch, basic)
    plan_offer(monkeypatch, pro)
    subscription_start(holder=user, price=pro)
    client = logged_in_long_ago(user)

    page = client.get(CHANGE, {"price": basic.id})
    assert page.status_code == 200
    form = re.search(r"<form [^>]*data-confirm-form>(.*?)</form>", page.text, re.S).group(1)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    response = client.post(CHANGE, fields)
    sent_to_reauthenticate(response, back_to=CHANGE)
    assert billing_state(holder=user).scheduled_change is None

    response = client.post(REAUTHENTICATE, {"password": password, "next": CHANGE})

    assert response.status_code == 303
    assert billing_state(holder=user).scheduled_change.price_id == basic.id


def test_a_team_role_change_after_the_timeout_needs_the_password(user, password):
    team = team_with_members(admin=user)
    member = member_join(team=team, invited_by=user)
    url = reverse("accounts:team_member_role", args=[team.slug, member.pk])
    client = logged_in_long_ago(user)

    sent_to_reauthenticate(client.post(url, {"role": "admin"}), back_to=url)
    member.refresh_from_db()
    assert member.role == Membership.Role.MEMBER

    client.post(REAUTHENTICATE, {"password": password, "next": url})

    member.refresh_from_db()
    assert member.role == Membership.Role.ADMIN
