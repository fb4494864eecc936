"""A sign-up (or a login) says what it is for, and keeps it: the plan chosen on the pricing page
goes on to Checkout once the account exists and is verified; a team invitation offers sign-up
first, its address is locked at sign-up and filled in at login, and the invitation verifies
it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.teams.services import team_create, team_invitation_create
from portal.stripe_client import stripe_client
from tests.accounts.auth.auth_helpers import PASSWORD, link_in, signup
from tests.accounts.billing_helpers import plan_offer, plan_price_create, site_domain_set

pytestmark = pytest.mark.django_db

CHECKOUT = "/subscription/checkout/"


@pytest.fixture
def site(db):
    site_domain_set("portal.test")


def product_named(name: str) -> str:
    return stripe_client().v1.products.create(params={"name": name}).id


@pytest.fixture
def pro(stripe_settings, monkeypatch, site):
    price = plan_price_create(unit_amount=5000, product=product_named("Pro"))
    plan_offer(monkeypatch, price)
    return price


@pytest.fixture
def team_plan(stripe_settings, monkeypatch, site):
    price = plan_price_create(unit_amount=1000, product=product_named("Team"))
    plan_offer(monkeypatch, price, per_seat=True, trial_days=14)
    return price


def test_a_plans_subscribe_button_leads_to_a_sign_up_that_names_the_plan(client, pro):
    chosen = client.post(CHECKOUT, {"price": pro.id})

    page = client.get(chosen["Location"])

    assert page.status_code == 200
    assert "You are signing up for Pro — $50 per month." in page.text


def test_the_seats_and_the_trial_are_named_too(client, team_plan):
    chosen = client.post(CHECKOUT, {"price": team_plan.id, "seats": "4", "trial": "1"})

    page = client.get(chosen["Location"]).text

    assert (
        "You are signing up for Team — $40 per month for 4 seats, starting with a 14-day "
        "free trial." in page
    )


def test_logging_in_instead_of_signing_up_names_the_plan_too(client, pro):
    signup_page = client.get(client.post(CHECKOUT, {"price": pro.id})["Location"])

    page = client.get(signup_page.context["login_url"])

    assert page.status_code == 200
    assert "You are subscribing to Pro — $50 per month." in page.text


def test_the_chosen_plan_is_carried_through_sign_up_and_verification_to_checkout(
    client, team_plan, mailoutbox
):
    chosen = client.post(CHECKOUT, {"price": team_plan.id, "seats": "3"})
    signup_url = chosen["Location"]
    next_url = parse_qs(urlsplit(signup_url).query)["next"][0]

    response = client.post(
        signup_url, {"email": "buyer@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response["Location"] == reverse("account_email_verification_sent")
    verified = client.post(link_in(mailoutbox[0], "/accounts/confirm-email/"))

    assert verified["Location"] == next_url == f"{CHECKOUT}?price={team_plan.id}&seats=3"
    landing = client.get(next_url)
    assert f'data-chosen-plan="{team_plan.id}"' in landing.text
    assert "for 3 seats" in landing.text
    onward = client.post(CHECKOUT, {"price": team_plan.id, "seats": "3"})
    assert onward.status_code == 303
    session_id = onward["Location"].rstrip("/").rsplit("/", 1)[-1]
    session = stripe_client().v1.checkout.sessions.retrieve(session_id)
    buyer = User.objects.get(email="buyer@example.com")
    assert session.client_reference_id == f"user:{buyer.pk}"
    assert stripe_client().v1.checkout.sessions.line_items.list(session_id).data[0].quantity == 3


@pytest.mark.parametrize(
    "next_url",
    [
        f"{CHECKOUT}?price=price_nope",
        f"{CHECKOUT}?seats=abc",
        "/pricing/?price=price_x",
        "https://evil.example/subscription/checkout/?price=x",
        "/teams/invitations/not-a-token/",
    ],
)
def test_a_sign_up_with_another_next_is_a_plain_sign_up(client, pro, next_url):
    page = client.get(reverse("account_signup"), {"next": next_url})

    assert page.status_code == 200
    assert "You are signing up for" not in page.text
    assert "You are joining" not in page.text


# --- Team invitations ---------------------------------------------------------------------------


@pytest.fixture
def invitation(user, mailoutbox):
    team = team_create(name="Orbit", creator=user)
    invitation = team_invitation_create(team=team, email="invitee@example.com", invited_by=user)
    mailoutbox.clear()
    return invitation


def invitation_signup_url(invitation) -> str:
    link = reverse("accounts:team_invitation", args=[invitation.token])
    return Client().get(link).context["signup_url"]


def test_an_invitation_offers_sign_up_first_and_log_in_second(client, invitation):
    page = client.get(reverse("accounts:team_invitation", args=[invitation.token])).text

    buttons = re.findall(r'<a class="(btn-primary|btn-secondary)" href="([^"]+)">([^<]+)</a>', page)
    assert [(kind, label) for kind, _, label in buttons] == [
        ("btn-primary", "Sign up"),
        ("btn-secondary", "Log in"),
    ]


def test_an_invitations_log_in_has_the_invited_address_filled_in(client, invitation):
    login_url = (
        Client()
        .get(reverse("accounts:team_invitation", args=[invitation.token]))
        .context["login_url"]
    )

    page = client.get(login_url)

    assert page.context["form"]["login"].value() == "invitee@example.com"
    assert "You are joining Orbit. Log in with invitee@example.com" in page.text


def test_an_invitations_sign_up_has_the_address_filled_in_and_locked(client, invitation):
    page = client.get(invitation_signup_url(invitation)).text

    assert "You are joining Orbit." in page
    assert 'value="invitee@example.com"' in page
    assert "disabled" in page[page.index('name="email"') - 200 : page.index('name="email"') + 200]


def test_an_invitations_sign_up_keeps_the_invited_address_and_counts_as_verifying_it(
    client, invitation, mailoutbox
):
    link = reverse("accounts:team_invitation", args=[invitation.token])

    response = client.post(
        invitation_signup_url(invitation),
        {"email": "someone-else@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )

    # Logged in at once (no mail to wait for), and on to the invitation.
    assert response["Location"] == link
    user = User.objects.get(email="invitee@example.com")
    assert not User.objects.filter(email="someone-else@example.com").exists()
    assert EmailAddress.objects.get(user=user).verified
    assert mailoutbox == []
    assert client.post(link)["Location"] == reverse("accounts:team_detail", args=["orbit"])
    assert invitation.team.memberships.filter(user=user).exists()


def test_accepting_an_invitation_verifies_a_logged_in_users_address(invitation, mailoutbox):
    signup(Client(), email="invitee@example.com")  # a plain sign-up, never verified
    client = Client()
    client.post("/accounts/login/", {"login": "invitee@example.com", "password": PASSWORD})
    user = User.objects.get(email="invitee@example.com")
    assert not EmailAddress.objects.get(user=user).verified

    client.post(reverse("accounts:team_invitation", args=[invitation.token]))

    assert EmailAddress.objects.get(user=user).verified
