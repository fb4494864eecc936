"""Team services: creating teams, invitations (random, single-use, expiring, for one email),
members and roles, and the billing stamp every seat change leaves."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Invitation, Membership, Team
from accounts.teams.selectors import team_seats
from accounts.teams.services import (
    InvitationInvalidError,
    InvitationWrongUserError,
    LastAdminError,
    SeatLimitReachedError,
    TeamError,
    team_create,
    team_invitation_accept,
    team_invitation_cancel,
    team_invitation_create,
    team_member_remove,
    team_member_role_change,
)
from tests.accounts.teams.team_helpers import (
    member_join,
    seat_plan_offer,
    team_subscribe,
    team_with_members,
    user_create,
)

pytestmark = pytest.mark.django_db


def test_a_new_team_has_its_creator_as_admin_and_one_seat():
    creator = user_create()
    team = team_create(name="  Research Lab ", creator=creator)

    assert (team.name, team.slug) == ("Research Lab", "research-lab")
    membership = team.memberships.get()
    assert (membership.user, membership.role) == (creator, Membership.Role.ADMIN)
    assert team.get_quantity() == 1
    assert team.billing_email == creator.email
    assert team.billing_name == "Research Lab"


def test_team_slugs_are_unique():
    first = team_create(name="Acme", creator=user_create())
    second = team_create(name="Acme", creator=user_create())
    third = team_create(name="!!!", creator=user_create())

    assert first.slug == "acme"
    assert second.slug == "acme-2"
    assert third.slug == "team"


def test_a_team_needs_a_name():
    with pytest.raises(TeamError, match="name"):
        team_create(name="   ", creator=user_create())


def test_an_invitation_is_mailed_with_a_random_accept_link(mailoutbox):
    admin = user_create()
    team = team_with_members(admin=admin, name="Rocket")

    invitation = team_invitation_create(team=team, email="New.Person@Example.com", invited_by=admin)

    assert invitation.email == "new.person@example.com"
    assert len(invitation.token) >= 40
    other = team_invitation_create(team=team, email="other@example.com", invited_by=admin)
    assert other.token != invitation.token
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    message = mailoutbox[0]
    assert message.to == ["new.person@example.com"]
    assert "Rocket" in message.subject
    assert f"/teams/invitations/{invitation.token}/" in message.body


def test_inviting_again_resends_the_same_invitation(mailoutbox):
    admin = user_create()
    team = team_with_members(admin=admin)
    first = team_invitation_create(team=team, email="a@example.com", invited_by=admin)
    second = team_invitation_create(team=team, email="A@example.com", invited_by=admin)

    assert second.pk == first.pk
    assert team.invitations.count() == 1
    assert len(mailoutbox) == 2


def test_inviting_a_member_is_refused():
    admin = user_create()
    team = team_with_members(admin=admin)

    with pytest.raises(TeamError, match="already a member"):
        team_invitation_create(team=team, email=admin.email.upper(), invited_by=admin)


def test_accepting_adds_the_member_and_stamps_the_billing_change():
    admin = user_create()
    team = team_with_members(admin=admin)
    stamped = Team.objects.get(pk=team.pk).billing_details_last_changed
    invitee = user_create()
    invitation = team_invitation_create(
        team=team, email=invitee.email, invited_by=admin, role=Membership.Role.ADMIN
    )
    assert Team.objects.get(pk=team.pk).billing_details_last_changed == stamped

    membership = team_invitation_accept(invitation=invitation, user=invitee)

    assert membership.role == Membership.Role.ADMIN
    assert team.get_quantity() == 2
    assert Team.objects.get(pk=team.pk).billing_details_last_changed > stamped
    invitation.refresh_from_db()
    assert invitation.accepted_by == invitee and invitation.accepted_at is not None


def test_an_invitation_works_once():
    admin = user_create()
    team = team_with_members(admin=admin)
    invitee = user_create()
    invitation = team_invitation_create(team=team, email=invitee.email, invited_by=admin)
    team_invitation_accept(invitation=invitation, user=invitee)

    with pytest.raises(InvitationInvalidError):
        team_invitation_accept(invitation=invitation, user=invitee)


def test_an_invitation_is_only_for_its_email():
    admin = user_create()
    team = team_with_members(admin=admin)
    invitation = team_invitation_create(team=team, email="right@example.com", invited_by=admin)

    with pytest.raises(InvitationWrongUserError, match=re.escape("right@example.com")):
        team_invitation_accept(invitation=invitation, user=user_create("wrong@example.com"))
    assert team.get_quantity() == 1


def test_expired_and_canceled_invitations_cannot_be_accepted():
    admin = user_create()
    team = team_with_members(admin=admin)
    expired_user, canceled_user = user_create(), user_create()
    expired = team_invitation_create(team=team, email=expired_user.email, invited_by=admin)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    canceled = team_invitation_create(team=team, email=canceled_user.email, invited_by=admin)
    team_invitation_cancel(invitation=canceled)

    with pytest.raises(InvitationInvalidError):
        team_invitation_accept(invitation=expired, user=expired_user)
    with pytest.raises(InvitationInvalidError):
        team_invitation_accept(invitation=canceled, user=canceled_user)
    assert team.get_quantity() == 1


def test_removing_a_member_stamps_the_billing_change():
    admin = user_create()
    team = team_with_members(admin=admin)
    membership = member_join(team=team, invited_by=admin)
    stamped = Team.objects.get(pk=team.pk).billing_details_last_changed

    team_member_remove(membership=membership)

    assert team.get_quantity() == 1
    assert Team.objects.get(pk=team.pk).billing_details_last_changed > stamped


def test_the_last_admin_can_be_neither_removed_nor_demoted():
    admin = user_create()
    team = team_with_members(admin=admin, members=1)
    admin_membership = team.memberships.get(user=admin)

    with pytest.raises(LastAdminError):
        team_member_remove(membership=admin_membership)
    with pytest.raises(LastAdminError):
        team_member_role_change(membership=admin_membership, role=Membership.Role.MEMBER)

    other = team.memberships.exclude(user=admin).get()
    team_member_role_change(membership=other, role=Membership.Role.ADMIN)
    team_member_remove(membership=admin_membership)
    assert list(team.memberships.values_list("role", flat=True)) == ["admin"]


def test_a_seat_cap_stops_invitations_past_it(stripe_settings, monkeypatch):
    price = seat_plan_offer(monkeypatch, max_seats=2)
    admin = user_create()
    team = team_with_members(admin=admin)
    team_subscribe(team, price)
    team_invitation_create(team=team, email="second@example.com", invited_by=admin)

    with pytest.raises(SeatLimitReachedError, match="up to 2 seats") as raised:
        team_invitation_create(team=team, email="third@example.com", invited_by=admin)

    assert raised.value.max_seats == 2
    seats = team_seats(team=team)
    assert (seats.members, seats.invited, seats.max_seats, seats.at_cap) == (1, 1, 2, True)


def test_without_a_plan_there_is_no_seat_cap(stripe_settings, monkeypatch):
    seat_plan_offer(monkeypatch, max_seats=1)
    admin = user_create()
    team = team_with_members(admin=admin)

    team_invitation_create(team=team, email="second@example.com", invited_by=admin)

    assert team_seats(team=team).max_seats is None
