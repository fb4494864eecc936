"""Teams, per-seat plans and team subscriptions made for the team tests (no mocks: the local
Stripe server and the team services)."""

from __future__ import annotations

import uuid
from typing import Any

from djstripe.models import Price

from accounts.models import Membership, Team, User
from accounts.teams.services import team_create, team_invitation_accept, team_invitation_create
from portal.stripe_client import stripe_client
from pricing import metadata as pricing_metadata
from pricing.metadata import ProductMetadata
from tests.accounts.billing_helpers import plan_price_create, subscription_start

PASSWORD = "correct-horse-battery-staple"


def user_create(email: str | None = None) -> User:
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    return User.objects.create_user(email=email, password=PASSWORD)


def team_with_members(*, admin: User | None = None, members: int = 0, name: str = "Acme") -> Team:
    """A team with an admin and `members` more members, added through invitations."""
    admin = admin or user_create()
    team = team_create(name=name, creator=admin)
    for _ in range(members):
        member_join(team=team, invited_by=admin)
    return team


def member_join(*, team: Team, invited_by: User, user: User | None = None) -> Membership:
    """Invite a (new) user and accept as them, as the team pages do."""
    user = user or user_create()
    invitation = team_invitation_create(team=team, email=user.email, invited_by=invited_by)
    return team_invitation_accept(invitation=invitation, user=user)


def seat_plan_offer(
    monkeypatch,
    *,
    unit_amount: int = 1000,
    max_seats: int | None = None,
    per_seat: bool = True,
    group: str | None = None,
) -> Price:
    """A per-seat (or flat) monthly price, offered in pricing.metadata (with an optional cap,
    and the Django group its holders' users join)."""
    price = plan_price_create(unit_amount=unit_amount)
    offered = ProductMetadata(
        stripe_id=price.product.id,
        slug=f"seats-{uuid.uuid4().hex[:6]}",
        name=price.product.name,
        per_seat=per_seat,
        max_seats=max_seats,
        group=group,
    )
    # Added to the shipped plans, which the demo pages' gates name.
    products = [*pricing_metadata.ACTIVE_PRODUCTS, offered]
    monkeypatch.setattr(pricing_metadata, "ACTIVE_PRODUCTS", products)
    return price


def team_subscribe(team: Team, price: Price, **extra: Any) -> str:
    """Subscribe the team at its member count (as checkout does), synced into dj-stripe."""
    subscription_id = subscription_start(
        holder=team, price=price, quantity=team.get_quantity(), **extra
    )
    team.refresh_from_db()
    return subscription_id


def stripe_quantity(subscription_id: str) -> int:
    """The quantity Stripe bills now (asked over HTTP, not from our database)."""
    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)
    return subscription["items"]["data"][0]["quantity"]


def subscription_updated_events(subscription_id: str) -> int:
    """How many `customer.subscription.updated` events Stripe emitted for this subscription:
    each quantity push is one, so this counts our Stripe updates."""
    events = stripe_client().v1.events.list(
        params={"type": "customer.subscription.updated", "limit": 100}
    )
    return sum(1 for event in events.data if event.data.object["id"] == subscription_id)
