"""Reads about teams: who is in which team with which role, invitations, seats and the plan's
seat cap, and which subscription holders have a seat count to push to Stripe."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.app_settings import app_settings
from accounts.billing.state import BillingState, billing_state
from accounts.models import Invitation, Membership, Team, User

# The session key of the team a user last switched to.
SESSION_TEAM_KEY = "portal_team_pk"


# --- Teams and roles --------------------------------------------------------------------------


def membership_for_slug(*, slug: str, user: User) -> Membership | None:
    """The user's membership of the team with this slug; None when there is no such team or
    the user is not in it (both look the same from outside: a 404)."""
    if not user.is_authenticated or not slug:
        return None
    return Membership.objects.filter(team__slug=slug, user=user).select_related("team").first()


def team_members(*, team: Team) -> QuerySet[Membership]:
    return team.memberships.select_related("user").order_by("created_at", "pk")


def team_admin_count(*, team: Team) -> int:
    return team.memberships.filter(role=Membership.Role.ADMIN).count()


def billing_manageable(*, request: HttpRequest) -> bool:
    """Whether the user may act on the acting holder's billing (checkout, Manage billing).

    With users as holders everyone manages their own; with teams, only the team's admins.
    """
    if not request.user.is_authenticated:
        return False
    if app_settings.SUBSCRIPTION_HOLDER == "user":
        return True
    membership = request.teams.membership  # type: ignore[attr-defined]
    return membership is not None and membership.is_admin


# --- Invitations --------------------------------------------------------------------------------


def invitations_pending(*, team: Team) -> QuerySet[Invitation]:
    """The team's invitations that can still be accepted, newest first."""
    return team.invitations.filter(
        accepted_at__isnull=True, canceled_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at", "-pk")


def invitation_for_token(*, token: str) -> Invitation | None:
    """The invitation this link's token names (accepted, canceled and expired ones included)."""
    if not token or len(token) > 64:
        return None
    return Invitation.objects.select_related("team").filter(token=token).first()


# --- Seats and the plan's cap -------------------------------------------------------------------


@dataclass(frozen=True)
class TeamSeats:
    """A team's seats: members, invitations waiting, the plan's cap (None: no cap), and the
    seats its live per-seat subscription bills (None: it has none)."""

    members: int
    invited: int
    max_seats: int | None
    plan_name: str | None
    billed: int | None = None

    @property
    def pending(self) -> bool:
        """Whether Stripe bills another number of seats than the team has members: a change
        that seat sync has not pushed yet."""
        return self.billed is not None and self.billed != self.members

    @property
    def used(self) -> int:
        """Seats taken or promised: members plus pending invitations."""
        return self.members + self.invited

    @property
    def at_cap(self) -> bool:
        return self.max_seats is not None and self.used >= self.max_seats


def team_seats(*, team: Team, state: BillingState | None = None) -> TeamSeats:
    """The team's seats; `state`: its billing state when already read (`request.billing`)."""
    state = state if state is not None else billing_state(holder=team)
    plan = state.plan if state.is_live else None
    per_seat = plan is not None and plan.per_seat
    return TeamSeats(
        members=team.get_quantity(),
        invited=invitations_pending(team=team).count(),
        max_seats=plan.max_seats if per_seat else None,
        plan_name=plan.name if plan is not None else None,
        billed=state.seats if per_seat and state.plan_item is not None else None,
    )
