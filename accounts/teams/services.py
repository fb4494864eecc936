"""Writes about teams: creating them, inviting, accepting, removing and promoting members, and
pushing seat counts to Stripe.

These are the only writers of teams. Every change of membership stamps the team's
`billing_details_last_changed` (here, not in signals), under the team row's lock, so the stamp
is ordered with `subscriptions_sync`'s claim and no change is ever missed by a sync.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from djstripe.models import Subscription

from accounts.app_settings import app_settings
from accounts.billing.state import billing_state
from accounts.models import (
    Invitation,
    Membership,
    SubscriptionHolder,
    SubscriptionQuantityUpdate,
    Team,
    User,
)
from accounts.selectors import absolute_url, holder_reference
from accounts.teams.selectors import holders_pending_sync, team_admin_count, team_seats
from portal.stripe_client import (
    StripeRequestError,
    StripeUnavailableError,
    stripe_client,
    translate_stripe_errors,
)

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


@transaction.atomic
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


# --- Seat sync: pushing quantities to Stripe ---------------------------------------------------


class SyncOutcome:
    UPDATED = "updated"  # the new quantity was pushed to Stripe
    IN_SYNC = "in_sync"  # Stripe already bills this quantity: no Stripe call
    UNCHANGED = "unchanged"  # nothing changed since the last sync: no Stripe call
    NOT_BILLED_PER_SEAT = "not_per_seat"  # no live per-seat subscription: nothing to push
    DEFERRED = "deferred"  # over the hourly limit of updates: left pending
    BUSY = "busy"  # another sync claimed the holder first
    FAILED = "failed"  # Stripe refused or could not be reached: left pending


@dataclass
class SeatSyncReport:
    """What one `subscriptions_sync` run did, by outcome."""

    checked: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return self.outcomes.get(outcome, 0)

    def add(self, outcome: str) -> None:
        self.checked += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def _quantity_push(
    holder: SubscriptionHolder, *, proration_behavior: str, max_updates_per_hour: int
) -> tuple[str, str]:
    state = billing_state(holder=holder)
    if not state.is_live:
        return SyncOutcome.NOT_BILLED_PER_SEAT, "no live subscription"
    subscription_id = state.subscription_id
    # Only a subscription of one item, a per-seat plan of `pricing.metadata`, bills seats.
    item = state.plan_item
    if len(state.items) != 1 or state.plan is None or not state.plan.per_seat or item is None:
        return SyncOutcome.NOT_BILLED_PER_SEAT, f"{subscription_id} is not billed per seat"
    quantity = max(1, holder.get_quantity())
    before = item.quantity
    if quantity == before:
        return SyncOutcome.IN_SYNC, f"{subscription_id} already bills {quantity} seats"
    hour_ago = timezone.now() - timedelta(hours=1)
    recent = SubscriptionQuantityUpdate.objects.filter(
        subscription_id=subscription_id, created_at__gt=hour_ago
    ).count()
    if recent >= max_updates_per_hour:
        return SyncOutcome.DEFERRED, (
            f"{subscription_id} had {recent} quantity updates in the last hour; left pending"
        )
    with translate_stripe_errors("update the number of seats"):
        updated = stripe_client().v1.subscriptions.update(
            subscription_id,
            params={
                "items": [{"id": item.id, "quantity": quantity}],
                "proration_behavior": proration_behavior,
            },
        )
        Subscription.sync_from_stripe_data(updated)
    SubscriptionQuantityUpdate.objects.create(
        holder_reference=holder_reference(holder=holder),
        subscription_id=subscription_id,
        quantity_before=before,
        quantity=quantity,
        proration_behavior=proration_behavior,
    )
    return SyncOutcome.UPDATED, f"{subscription_id}: {before} → {quantity} seats"


def holder_quantity_sync(
    *,
    model: type[SubscriptionHolder],
    pk: int,
    proration_behavior: str | None = None,
    max_updates_per_hour: int | None = None,
) -> tuple[str, str]:
    """Push one holder's seat count to its subscription at Stripe, when it changed.

    Returns (outcome, what happened in words); see `SyncOutcome`. Two syncs at once never both
    push: each claims the holder with a conditional update of `last_synced_with_stripe` (only
    the one that finds the value it read wins), and no lock is held over the Stripe call. A
    holder deferred or failed gets its old `last_synced_with_stripe` back, so it stays pending.
    Raises `StripeUnavailableError` / `StripeRequestError` after releasing the claim.
    """
    manager = model._default_manager
    row = (
        manager.filter(pk=pk)
        .values("last_synced_with_stripe", "billing_details_last_changed")
        .first()
    )
    if row is None:
        return SyncOutcome.UNCHANGED, "holder deleted"
    synced: datetime | None = row["last_synced_with_stripe"]
    if synced is not None and row["billing_details_last_changed"] <= synced:
        return SyncOutcome.UNCHANGED, "unchanged since the last sync"
    claimed_at = timezone.now()
    if not manager.filter(pk=pk, last_synced_with_stripe=synced).update(
        last_synced_with_stripe=claimed_at
    ):
        return SyncOutcome.BUSY, "another sync is on it"

    def release() -> None:
        manager.filter(pk=pk, last_synced_with_stripe=claimed_at).update(
            last_synced_with_stripe=synced
        )

    try:
        holder = manager.select_related("subscription").get(pk=pk)
        outcome, detail = _quantity_push(
            holder,
            proration_behavior=proration_behavior or app_settings.SEAT_SYNC_PRORATION_BEHAVIOR,
            max_updates_per_hour=(
                max_updates_per_hour or app_settings.SEAT_SYNC_MAX_UPDATES_PER_HOUR
            ),
        )
    except BaseException:
        release()
        raise
    if outcome == SyncOutcome.DEFERRED:
        release()
    return outcome, detail


def subscriptions_sync(
    *,
    proration_behavior: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> SeatSyncReport:
    """Push the seat count of every holder changed since its last sync (`sync_subscriptions`
    and the hourly `accounts.subscriptions_sync` task). Unchanged holders cost no Stripe call;
    a holder that fails is reported and stays pending for the next run."""
    report = SeatSyncReport()
    pending = holders_pending_sync()
    if progress:
        progress(
            f"{len(pending)} holder{'s' if len(pending) != 1 else ''} changed since their last sync"
        )
    for index, (model, pk) in enumerate(pending, start=1):
        reference = f"{model._meta.model_name}:{pk}"
        try:
            outcome, detail = holder_quantity_sync(
                model=model, pk=pk, proration_behavior=proration_behavior
            )
        except (StripeUnavailableError, StripeRequestError) as error:
            outcome, detail = SyncOutcome.FAILED, str(error)
            report.errors.append(f"{reference}: {error}")
            logger.warning("Seat sync of %s failed: %s", reference, error)
        report.add(outcome)
        if progress:
            progress(f"[{index}/{len(pending)}] {reference} {outcome}: {detail}")
    return report
