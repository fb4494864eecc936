"""One holder can never see or act on another's subscription, checkout session, portal session,
invoices or members: users in user mode, teams in team mode."""

from __future__ import annotations

import pytest
import requests
from django.test import Client
from djstripe.models import Invoice

from accounts.models import Invitation, Membership, User
from accounts.teams.selectors import SESSION_TEAM_KEY
from accounts.teams.services import team_invitation_create
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import (
    hosted_checkout_pay,
    session_id_in,
    site_domain_set,
    subscription_start,
)
from tests.accounts.teams.team_helpers import (
    member_join,
    seat_plan_offer,
    team_subscribe,
    team_with_members,
    user_create,
)

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/pricing/",
    "/subscription/",
    "/subscription/demo/",
    "/subscription/demo/members/",
    "/accounts/profile/",
    "/teams/",
]


@pytest.fixture
def price(stripe_settings, monkeypatch):
    site_domain_set("portal.test")
    return seat_plan_offer(monkeypatch, unit_amount=1300, per_seat=False)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def secrets_of(holder) -> list[str]:
    """What must never appear on anyone else's pages: the holder's Stripe ids, invoice numbers
    and (for users) email."""
    values = [holder.customer.id, holder.subscription.id]
    for invoice in Invoice.objects.filter(customer__id=holder.customer.id):
        values += [invoice.id, invoice.stripe_data.get("number") or invoice.id]
    email = getattr(holder, "email", None)
    return [*values, *([email] if email else [])]


def portal_page(client: Client) -> str:
    """The hosted Customer Portal page that Manage billing opened (Stripe cannot retrieve
    portal sessions, so the page itself says whose it is)."""
    response = client.post("/subscription/billing/")
    assert response.status_code == 303, response.content[:300]
    return requests.get(response["Location"], timeout=10).text


def assert_portal_of(client: Client, own, other) -> None:
    page = portal_page(client)
    mine = [own.customer.id, own.customer.email, own.customer.name]
    assert any(value and value in page for value in mine), page
    for value in (other.customer.id, other.customer.email, other.customer.name):
        assert not value or value not in page


def checkout_session_of(client: Client, price) -> str:
    """Start a checkout as this client's holder, pay it, and return the session id."""
    location = client.post("/subscription/checkout/", {"price": price.id})["Location"]
    return session_id_in(hosted_checkout_pay(location))


def test_users_see_and_touch_only_their_own_billing(price):
    ada, bob = user_create(), user_create()
    subscription_start(holder=ada, price=price)
    subscription_start(holder=bob, price=price)
    ada.refresh_from_db()
    bob.refresh_from_db()
    as_ada, as_bob = client_for(ada), client_for(bob)

    for page in PAGES:
        body = as_ada.get(page).content.decode()
        for secret in secrets_of(bob):
            assert secret not in body, f"{page} shows {bob.email}'s {secret}"
    assert ada.subscription.id in as_ada.get("/subscription/").content.decode()

    # Manage billing opens only your own customer.
    assert_portal_of(as_ada, ada, bob)
    assert_portal_of(as_bob, bob, ada)


def test_someone_elses_checkout_session_is_refused_and_changes_nothing(price):
    ada, bob = user_create(), user_create()
    bobs_session = checkout_session_of(client_for(bob), price)

    response = client_for(ada).get("/subscription/confirm/", {"session_id": bobs_session})

    assert response.status_code == 403
    assert "belongs to another account" in response.content.decode()
    ada.refresh_from_db()
    assert (
        ada.customer is None
        or ada.customer.id != stripe_client().v1.checkout.sessions.retrieve(bobs_session).customer
    )
    assert ada.subscription is None


def test_teams_see_and_touch_only_their_own_billing_and_members(price, settings):
    settings.PORTAL_SUBSCRIPTION_HOLDER = "team"
    ada, bob = user_create(), user_create()
    ours = team_with_members(admin=ada, members=1, name="Ours")
    theirs = team_with_members(admin=bob, members=1, name="Theirs")
    team_subscribe(ours, price)
    team_subscribe(theirs, price)
    their_member = Membership.objects.exclude(user=bob).get(team=theirs)
    their_invitation = team_invitation_create(
        team=theirs, email="invitee@example.com", invited_by=bob
    )
    as_ada = client_for(ada)

    # Pages: nothing of theirs, even with their team's id forced into the session.
    session = as_ada.session
    session[SESSION_TEAM_KEY] = theirs.pk
    session.save()
    for page in PAGES:
        body = as_ada.get(page).content.decode()
        for secret in [*secrets_of(theirs), their_member.user.email, "Theirs"]:
            assert secret not in body, f"{page} shows the other team's {secret}"
    assert ours.subscription.id in as_ada.get("/subscription/").content.decode()
    assert_portal_of(as_ada, ours, theirs)

    # Their team's pages and actions: 404, through their slug or ours.
    attempts = [
        ("get", f"/teams/{theirs.slug}/", {}),
        ("post", f"/teams/{theirs.slug}/invitations/", {"email": "mole@example.com"}),
        ("post", f"/teams/{theirs.slug}/members/{their_member.pk}/remove/", {}),
        ("post", f"/teams/{ours.slug}/members/{their_member.pk}/remove/", {}),
        ("post", f"/teams/{ours.slug}/members/{their_member.pk}/role/", {"role": "admin"}),
        ("post", f"/teams/{ours.slug}/invitations/{their_invitation.pk}/cancel/", {}),
        ("post", f"/teams/{theirs.slug}/invitations/{their_invitation.pk}/cancel/", {}),
        ("post", "/teams/switch/", {"team": theirs.slug}),
    ]
    for method, url, data in attempts:
        response = getattr(as_ada, method)(url, data)
        assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code}"
    their_member.refresh_from_db()
    assert their_member.role == Membership.Role.MEMBER
    assert Membership.objects.filter(team=theirs).count() == 2
    assert Invitation.objects.get(pk=their_invitation.pk).accepted_at is None
    assert not Invitation.objects.filter(email="mole@example.com").exists()
    assert_portal_of(as_ada, ours, theirs)  # still acting for our team

    # A member of their team who is not an admin cannot open its billing either.
    as_their_member = client_for(member_join(team=theirs, invited_by=bob).user)
    assert as_their_member.post("/subscription/billing/").status_code == 403
