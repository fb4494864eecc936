"""Team pages: membership and role checks, inviting, accepting, removing, switching teams, the
seat cap's upgrade prompt, and billing left to team admins in team mode."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Membership, Team
from accounts.teams.selectors import SESSION_TEAM_KEY
from accounts.teams.services import team_create, team_invitation_create
from portal.stripe_client import stripe_client
from tests.accounts.teams.team_helpers import (
    PASSWORD,
    member_join,
    seat_plan_offer,
    team_subscribe,
    team_with_members,
    user_create,
)

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def team_url(team: Team, name: str = "team_detail", *args: object) -> str:
    return reverse(f"accounts:{name}", args=[team.slug, *args])


# --- Access ---------------------------------------------------------------------------------


def test_team_pages_need_a_login(client):
    team = team_with_members()
    response = client.get(team_url(team))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_non_member_gets_404_on_every_team_page():
    team = team_with_members(members=1)
    member = team.memberships.get(role=Membership.Role.MEMBER)
    outsider = logged_in(user_create())

    assert outsider.get(team_url(team)).status_code == 404
    assert (
        outsider.post(team_url(team, "team_invite"), {"email": "x@example.com"}).status_code == 404
    )
    assert outsider.post(team_url(team, "team_member_remove", member.pk)).status_code == 404
    assert (
        outsider.post(team_url(team, "team_member_role", member.pk), {"role": "admin"}).status_code
        == 404
    )
    assert outsider.post(reverse("accounts:team_switch"), {"team": team.slug}).status_code == 404
    assert team.get_quantity() == 2


def test_a_member_without_the_admin_role_gets_403_on_changes():
    admin = user_create()
    team = team_with_members(admin=admin)
    membership = member_join(team=team, invited_by=admin)
    invitation = team_invitation_create(team=team, email="x@example.com", invited_by=admin)
    member = logged_in(membership.user)
    admin_membership = team.memberships.get(user=admin)

    assert member.post(team_url(team, "team_invite"), {"email": "y@example.com"}).status_code == 403
    assert member.post(team_url(team, "team_member_remove", admin_membership.pk)).status_code == 403
    assert (
        member.post(
            team_url(team, "team_member_role", membership.pk), {"role": "admin"}
        ).status_code
        == 403
    )
    cancel = member.post(team_url(team, "team_invitation_cancel", invitation.pk))
    assert cancel.status_code == 403
    assert "Only team admins" in cancel.content.decode()
    assert team.get_quantity() == 2
    assert Membership.objects.get(pk=membership.pk).role == Membership.Role.MEMBER
    assert not team.invitations.filter(email="y@example.com").exists()


def test_a_member_sees_the_team_but_no_admin_actions():
    admin = user_create()
    team = team_with_members(admin=admin)
    membership = member_join(team=team, invited_by=admin)

    page = logged_in(membership.user).get(team_url(team)).content.decode()

    assert admin.email in page and membership.user.email in page
    assert "Send invitation" not in page
    assert "Remove" not in page


# --- Creating, inviting, accepting ------------------------------------------------------------


def test_creating_a_team_makes_you_its_admin_and_switches_to_it():
    user = user_create()
    client = logged_in(user)

    response = client.post(reverse("accounts:team_list"), {"name": "Skunkworks"})

    team = Team.objects.get(name="Skunkworks")
    assert response.status_code == 303
    assert response["Location"] == team_url(team)
    assert team.memberships.get().user == user
    assert client.session[SESSION_TEAM_KEY] == team.pk


def test_a_team_without_a_name_is_a_400_with_a_message():
    response = logged_in(user_create()).post(reverse("accounts:team_list"), {"name": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_an_admin_invites_by_email_and_the_invitee_accepts_after_signing_up(client, mailoutbox):
    admin = user_create()
    team = team_with_members(admin=admin, name="Orbit")

    response = logged_in(admin).post(
        team_url(team, "team_invite"), {"email": "newbie@example.com", "role": "member"}
    )
    assert response.status_code == 303
    (message,) = mailoutbox
    link = re.search(r"https?://[^/\s]+(/teams/invitations/[^/\s]+/)", message.body).group(1)

    anonymous = client.get(link)
    assert anonymous.status_code == 200
    signup_url = anonymous.context["signup_url"]
    signup = client.post(
        signup_url,
        {"email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert signup["Location"] == link
    assert "Accept invitation" in client.get(link).content.decode()
    accepted = client.post(link)

    assert accepted.status_code == 303 and accepted["Location"] == team_url(team)
    assert team.memberships.filter(user__email="newbie@example.com").exists()
    assert client.post(link).status_code == 410  # single use


def test_an_invitation_for_someone_else_is_refused_with_403():
    admin = user_create()
    team = team_with_members(admin=admin)
    invitation = team_invitation_create(team=team, email="right@example.com", invited_by=admin)
    wrong = logged_in(user_create("wrong@example.com"))

    response = wrong.post(reverse("accounts:team_invitation", args=[invitation.token]))

    assert response.status_code == 403
    assert "sent to right@example.com" in response.content.decode()
    assert team.get_quantity() == 1


def test_an_unknown_invitation_token_is_a_404(client):
    assert client.get(reverse("accounts:team_invitation", args=["nope"])).status_code == 404


def test_an_invalid_invitation_email_is_a_400_with_a_message():
    admin = user_create()
    team = team_with_members(admin=admin)

    response = logged_in(admin).post(team_url(team, "team_invite"), {"email": "not-an-email"})

    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert not Invitation.objects.exists()


def test_inviting_a_member_again_is_a_400_with_a_message():
    admin = user_create()
    team = team_with_members(admin=admin)

    response = logged_in(admin).post(
        team_url(team, "team_invite"), {"email": admin.email, "role": "member"}
    )

    assert response.status_code == 400
    assert "already a member" in response.content.decode()


def test_an_admin_cancels_an_invitation():
    admin = user_create()
    team = team_with_members(admin=admin)
    invitation = team_invitation_create(team=team, email="x@example.com", invited_by=admin)

    logged_in(admin).post(team_url(team, "team_invitation_cancel", invitation.pk))

    invitation.refresh_from_db()
    assert invitation.canceled_at is not None and not invitation.is_pending


# --- Members --------------------------------------------------------------------------------


def test_an_admin_removes_a_member_and_promotes_another():
    admin = user_create()
    team = team_with_members(admin=admin)
    leaving = member_join(team=team, invited_by=admin)
    staying = member_join(team=team, invited_by=admin)
    client = logged_in(admin)

    client.post(team_url(team, "team_member_remove", leaving.pk))
    client.post(team_url(team, "team_member_role", staying.pk), {"role": "admin"})

    assert not Membership.objects.filter(pk=leaving.pk).exists()
    assert Membership.objects.get(pk=staying.pk).role == Membership.Role.ADMIN


def test_removing_the_last_admin_is_refused_with_a_message():
    admin = user_create()
    team = team_with_members(admin=admin)
    client = logged_in(admin)

    response = client.post(
        team_url(team, "team_member_remove", team.memberships.get().pk), follow=True
    )

    assert "at least one admin" in response.content.decode()
    assert team.get_quantity() == 1


def test_a_bad_role_is_refused_with_a_message():
    admin = user_create()
    team = team_with_members(admin=admin)
    member = member_join(team=team, invited_by=admin)

    response = logged_in(admin).post(
        team_url(team, "team_member_role", member.pk), {"role": "owner"}, follow=True
    )

    assert "Choose a role" in response.content.decode()
    assert Membership.objects.get(pk=member.pk).role == Membership.Role.MEMBER


# --- The team switcher ------------------------------------------------------------------------


def _team_menu(client, *, on: str = "http://testserver/pricing/") -> str:
    """The account menu's team switcher, as the menu loads it with htmx on the page `on`."""
    response = client.get(
        reverse("accounts:team_menu"), headers={"HX-Request": "true", "HX-Current-URL": on}
    )
    assert response.status_code == 200
    return response.content.decode()


def test_pages_link_to_the_team_menu_which_the_account_menu_loads_when_opened():
    user = user_create()
    team_create(name="Alpha", creator=user)
    client = logged_in(user)

    page = client.get(reverse("pricing:pricing_page")).content.decode()

    assert 'data-team-switch="alpha"' not in page  # not read by the page itself
    menu = re.search(r"<li ([^>]*)data-team-menu>", page)
    assert menu is not None
    assert f'hx-get="{reverse("accounts:team_menu")}"' in menu.group(1)
    assert 'hx-trigger="toggle from:closest details once"' in menu.group(1)
    # Opened without htmx (or without JavaScript, through the menu's link): the list of teams.
    assert client.get(reverse("accounts:team_menu"))["Location"] == reverse("accounts:team_list")


def test_the_switcher_brings_you_back_to_the_page_the_menu_is_on():
    user = user_create()
    team_create(name="Alpha", creator=user)
    client = logged_in(user)

    menu = _team_menu(client, on="http://testserver/subscription/?from=menu")

    assert 'name="next" value="/subscription/?from=menu"' in menu
    # A page of another site is not a place to come back to.
    elsewhere = _team_menu(client, on="https://evil.example/phish")
    assert "evil.example" not in elsewhere
    assert f'name="next" value="{reverse("accounts:team_list")}"' in elsewhere


def test_the_nav_team_link_opens_the_team_you_act_for():
    user = user_create()
    client = logged_in(user)
    current = reverse("accounts:team_current")
    assert client.get(current)["Location"] == reverse("accounts:team_list")

    team = team_create(name="Alpha", creator=user)

    assert client.get(current)["Location"] == team_url(team)


def test_the_switcher_lists_your_teams_and_switches_between_them():
    user = user_create()
    alpha = team_create(name="Alpha", creator=user)
    beta = team_create(name="Beta", creator=user)
    client = logged_in(user)

    home = _team_menu(client)
    assert 'data-team-switch="alpha" aria-current="true"' in home  # the first team by name
    assert 'data-team-switch="beta"' in home

    response = client.post(
        reverse("accounts:team_switch"), {"team": "beta", "next": reverse("pricing:pricing_page")}
    )
    assert response.status_code == 303 and response["Location"] == reverse("pricing:pricing_page")
    page = _team_menu(client)
    assert 'data-team-switch="beta" aria-current="true"' in page
    assert client.session[SESSION_TEAM_KEY] == beta.pk != alpha.pk


def test_switching_to_a_team_you_left_falls_back_to_another():
    admin = user_create()
    team = team_with_members(admin=admin, name="Zeta")
    member = member_join(team=team, invited_by=admin)
    own = team_create(name="Own", creator=member.user)
    client = logged_in(member.user)
    client.post(reverse("accounts:team_switch"), {"team": team.slug})

    logged_in(admin).post(team_url(team, "team_member_remove", member.pk))

    page = _team_menu(client)
    assert f'data-team-switch="{own.slug}" aria-current="true"' in page
    assert client.get(team_url(team)).status_code == 404


# --- Billing in team mode -----------------------------------------------------------------------


def test_checkout_for_a_per_seat_plan_starts_at_the_member_count(team_mode, seat_price):
    admin = user_create()
    team = team_with_members(admin=admin, members=2)

    response = logged_in(admin).post(
        reverse("accounts:subscription_checkout"), {"price": seat_price.id, "seats": "1"}
    )

    assert response.status_code == 303
    session_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    session = stripe_client().v1.checkout.sessions.retrieve(session_id)
    assert session.client_reference_id == f"team:{team.pk}"
    items = stripe_client().v1.checkout.sessions.line_items.list(session_id)
    assert [item.quantity for item in items.data] == [3]


def test_members_cannot_check_out_or_manage_billing(team_mode, seat_price):
    admin = user_create()
    team = team_with_members(admin=admin)
    team_subscribe(team, seat_price)
    member = logged_in(member_join(team=team, invited_by=admin).user)

    checkout = member.post(reverse("accounts:subscription_checkout"), {"price": seat_price.id})
    portal = member.post(reverse("accounts:billing_portal"))
    status_page = member.get(reverse("accounts:subscription")).content.decode()
    team_page = member.get(team_url(team)).content.decode()

    assert checkout.status_code == 403 and portal.status_code == 403
    assert "Only your team&#x27;s admins" in portal.content.decode()
    assert "Manage billing" not in status_page and "data-billing-admins-only" in status_page
    assert "data-plan-name" in team_page and "Manage billing" not in team_page


def test_admins_see_the_plan_billed_seats_and_price(team_mode, seat_price):
    admin = user_create()
    team = team_with_members(admin=admin, members=1)
    team_subscribe(team, seat_price)
    member_join(team=team, invited_by=admin)

    page = logged_in(admin).get(team_url(team)).content.decode()

    assert "Manage billing" in page
    assert re.search(r"data-member-count>\s*3", page)
    assert "<span data-billed-seats>2 seats</span>" in page
    assert "<span data-billed-amount>$20</span>" in page
    assert "data-seats-pending" in page


def test_the_pricing_page_defaults_to_the_teams_seat_count(team_mode, seat_price):
    admin = user_create()
    team_with_members(admin=admin, members=3)

    page = logged_in(admin).get(reverse("pricing:pricing_page")).content.decode()

    assert 'value="4"' in page
    assert "for 4 seats" in page
    assert "$40" in page


def test_inviting_past_the_seat_cap_shows_an_upgrade_prompt(
    team_mode, stripe_settings, monkeypatch
):
    price = seat_plan_offer(monkeypatch, max_seats=2)
    admin = user_create()
    team = team_with_members(admin=admin, members=1)
    team_subscribe(team, price)

    response = logged_in(admin).post(
        team_url(team, "team_invite"), {"email": "third@example.com", "role": "member"}
    )

    assert response.status_code == 409
    page = response.content.decode()
    assert "data-upgrade-prompt" in page
    assert "Upgrade your plan to add more members" in page
    assert not Invitation.objects.filter(email="third@example.com").exists()


def test_in_user_mode_teams_show_no_billing(seat_price):
    admin = user_create()
    team = team_with_members(admin=admin)

    page = logged_in(admin).get(team_url(team)).content.decode()

    assert "data-plan-name" not in page and "Manage billing" not in page
    assert "Each member has a plan of their own" in page


def test_in_team_mode_subscribing_without_a_team_creates_one_first_then_goes_on(
    team_mode, seat_price
):
    user = user_create()
    client = logged_in(user)
    checkout = reverse("accounts:subscription_checkout")

    response = client.post(checkout, {"price": seat_price.id, "seats": "3"})

    assert response.status_code == 303
    teams, query = response["Location"].split("?")
    assert teams == reverse("accounts:team_list")
    back = parse_qs(query)["next"][0]
    assert back == f"{checkout}?price={seat_price.id}&seats=3"
    page = client.get(response["Location"]).content.decode()
    assert "Create your team first" in page
    assert f'name="next" value="{html.escape(back)}"' in page

    created = client.post(response["Location"], {"name": "Newcomers", "next": back})

    assert (created.status_code, created["Location"]) == (303, back)
    assert user.teams.get().name == "Newcomers"
    # The plan's page now has a team to subscribe: Continue goes to Checkout.
    assert client.get(back).status_code == 200
