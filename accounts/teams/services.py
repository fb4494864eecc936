"""Writes about teams: creating them, inviting, accepting, removing and promoting members, and
pushing seat counts to Stripe.

These are the only writers of teams. Every change of membership stamps the team's
`billing_details_last_changed` (here, not in signals), under the team row's lock, so the stamp
is ordered with `subscriptions_sync`'s claim and no change is ever missed by a sync.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts.app_settings import app_settings
from accounts.auth.services import email_address_verified_record
from accounts.models import (
    Invitation,
    Membership,
    Team,
    User,
)
from accounts.selectors import absolute_url
from accounts.teams.selectors import team_admin_count, team_seats

logger = logging.getLogger(__name__)


class TeamError(Exception):
    """A team change that cannot be made; the message says why, for the user."""


class SeatLimitReachedError(TeamError):
    """The team's plan caps its seats and they are all taken: upgrade to add members."""

    def __init__(self, message: str, *, max_seats: int) -> None:
        super().__init__(message)
        self.max_seats = max_seats


class LastAdminError(TeamError):
    """A team must keep at least one admin."""


class InvitationInvalidError(TeamError):
    """The invitation was used, canceled, or has expired."""


class InvitationWrongUserError(TeamError):
    """The invitation was sent to another email address than the user's."""


def _team_locked(team: Team) -> Team:
    """The team's row, re-read and locked until the end of the transaction.

    The no-op write takes the lock on every database (SQLite ignores `select_for_update`), so a
    membership change and a sync's claim on the same team run one after the other.
    """
    Team.objects.filter(pk=team.pk).update(
        billing_details_last_changed=F("billing_details_last_changed")
    )
    return Team.objects.select_for_update().get(pk=team.pk)


def _team_billing_changed(team: Team) -> None:
    """Stamp the change of seats; taken under the team's lock, so after any claim it follows."""
    now = timezone.now()
    Team.objects.filter(pk=team.pk).update(billing_details_last_changed=now)
    team.billing_details_last_changed = now


# --- Teams ------------------------------------------------------------------------------------


def _member_groups_sync(user: User) -> None:
    """A user joined or left a team: their plan groups follow (in team mode)."""
    from accounts.gating import user_groups_sync

    if app_settings.SUBSCRIPTION_HOLDER == "team":
        user_groups_sync(user=user)


def _slug_candidates(name: str) -> list[str]:
    base = slugify(name)[:50].strip("-") or "team"
    return [base, *(f"{base}-{n}" for n in range(2, 6)), f"{base}-{secrets.token_hex(3)}"]


def team_create(*, name: str, creator: User) -> Team:
    """A new team named `name`, with `creator` as its admin and first member (one seat).

    The slug comes from the name, made unique with a suffix when it is taken.
    """
    name = name.strip()
    if not name:
        raise TeamError("Give the team a name.")
    for slug in _slug_candidates(name):
        if Team.objects.filter(slug=slug).exists():
            continue
        try:
            with transaction.atomic():
                team = Team.objects.create(name=name, slug=slug)
                Membership.objects.create(team=team, user=creator, role=Membership.Role.ADMIN)
        except IntegrityError:
            continue  # Taken between the check and the insert: try the next one.
        return team
    raise TeamError("Could not find a free address for that team name; try another name.")


# --- Invitations --------------------------------------------------------------------------------


def invitation_accept_url(*, invitation: Invitation) -> str:
    """The absolute link an invitation's email carries."""
    return absolute_url(path=reverse("accounts:team_invitation", args=[invitation.token]))


def _invitation_send(invitation: Invitation) -> None:
    context = {
        "invitation": invitation,
        "team": invitation.team,
        "inviter": invitation.invited_by,
        "accept_url": invitation_accept_url(invitation=invitation),
    }
    subject = render_to_string("accounts/teams/email/invitation_subject.txt", context)
    body = render_to_string("accounts/teams/email/invitation.txt", context)
    send_mail(" ".join(subject.split()), body, None, [invitation.email])


def _seat_cap_check(team: Team, *, adding: int = 1, count_invited: bool = True) -> None:
    seats = team_seats(team=team)
    if seats.max_seats is None:
        return
    used = seats.used if count_invited else seats.members
    if used + adding > seats.max_seats:
        raise SeatLimitReachedError(
            f"Your {seats.plan_name or 'current'} plan includes up to {seats.max_seats} "
            f"seat{'s' if seats.max_seats != 1 else ''}, and all are taken or invited. "
            "Upgrade your plan to add more members.",
            max_seats=seats.max_seats,
        )


def team_invitation_create(
    *, team: Team, email: str, invited_by: User, role: str = Membership.Role.MEMBER
) -> Invitation:
    """Invite `email` to the team and send the invitation's link by email.

    Inviting an address that already has a pending invitation sends it again (with a new
    expiry). Raises `TeamError` when the address is already a member, and
    `SeatLimitReachedError` when the plan's seat cap is reached.
    """
    email = User.objects.normalize_email(email.strip()).lower()
    if role not in Membership.Role.values:
        raise TeamError("Choose a role: admin or member.")
    expires_at = timezone.now() + timedelta(days=app_settings.TEAM_INVITATION_DAYS)
    with transaction.atomic():
        locked = _team_locked(team)
        if locked.memberships.filter(user__email__iexact=email).exists():
            raise TeamError(f"{email} is already a member of {locked.name}.")
        invitation = (
            locked.invitations.filter(
                email__iexact=email, accepted_at__isnull=True, canceled_at__isnull=True
            )
            .filter(expires_at__gt=timezone.now())
            .first()
        )
        if invitation is None:
            _seat_cap_check(locked)
            invitation = Invitation.objects.create(
                team=locked,
                email=email,
                role=role,
                token=secrets.token_urlsafe(32),
                invited_by=invited_by,
                expires_at=expires_at,
            )
        else:
            invitation.role = role
            invitation.expires_at = expires_at
            invitation.invited_by = invited_by
            invitation.save(update_fields=["role", "expires_at", "invited_by"])
    # Sent once the invitation is saved (and, with the team's lock released, without holding
    # it over the mail server).
    _invitation_send(invitation)
    return invitation


@transaction.atomic
def team_invitation_cancel(*, invitation: Invitation) -> None:
    """Cancel a pending invitation: its link stops working."""
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        canceled_at=timezone.now()
    )


@transaction.atomic
def team_invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the invitation's team as `user`, who must have the invited email address.

    The invitation is single-use: the team's row is locked while it is checked and used.
    Raises `InvitationInvalidError` (used, canceled or expired), `InvitationWrongUserError`,
    and `SeatLimitReachedError` when the team's plan has no seat left.
    """
    team = _team_locked(invitation.team)
    current = Invitation.objects.get(pk=invitation.pk)
    if not current.is_pending:
        raise InvitationInvalidError(
            "This invitation has already been used, was canceled, or has expired. "
            "Ask a team admin for a new one."
        )
    if current.email.lower() != user.email.lower():
        raise InvitationWrongUserError(
            f"This invitation was sent to {current.email}. Log in with that address to accept it."
        )
    membership = team.memberships.filter(user=user).first()
    if membership is None:
        # The invitation already holds a seat in the cap's count; only members count here.
        _seat_cap_check(team, count_invited=False)
        membership = Membership.objects.create(team=team, user=user, role=current.role)
        _team_billing_changed(team)
        _member_groups_sync(user)
    current.accepted_at = timezone.now()
    current.accepted_by = user
    current.save(update_fields=["accepted_at", "accepted_by"])
    # The invitation's link was mailed to this address: accepting it proves the address.
    email_address_verified_record(user=user, email=current.email)
    return membership


# --- Members ------------------------------------------------------------------------------------


@transaction.atomic
def team_member_remove(*, membership: Membership) -> None:
    """Take the member out of the team (their seat is released at the next sync).

    Raises `LastAdminError` when they are its last admin.
    """
    team = _team_locked(membership.team)
    current = team.memberships.filter(pk=membership.pk).first()
    if current is None:
        return
    if current.is_admin and team_admin_count(team=team) <= 1:
        raise LastAdminError("A team needs at least one admin: make someone else an admin first.")
    current.delete()
    _team_billing_changed(team)
    _member_groups_sync(current.user)


@transaction.atomic
def team_member_role_change(*, membership: Membership, role: str) -> Membership:
    """Make the member an admin or a plain member. Raises `LastAdminError` when that would
    leave the team without an admin."""
    if role not in Membership.Role.values:
        raise TeamError("Choose a role: admin or member.")
    team = _team_locked(membership.team)
    current = team.memberships.get(pk=membership.pk)
    if current.is_admin and role != Membership.Role.ADMIN and team_admin_count(team=team) <= 1:
        raise LastAdminError("A team needs at least one admin: make someone else an admin first.")
    current.role = role
    current.save(update_fields=["role"])
    return current
