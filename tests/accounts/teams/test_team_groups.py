"""Team mode: a team's plan group (`ProductMetadata.group`) follows its members."""

from __future__ import annotations

import pytest

from accounts.billing.checkout import holder_subscription_sync
from accounts.gating import holder_groups_sync
from accounts.models import User
from accounts.teams.services import team_member_remove
from portal.stripe_client import stripe_client
from tests.accounts.teams.team_helpers import (
    member_join,
    seat_plan_offer,
    team_subscribe,
    team_with_members,
    user_create,
)

pytestmark = pytest.mark.django_db
GROUP = "Team plan"


@pytest.fixture
def grouped_price(team_mode, stripe_settings, monkeypatch):
    """A per-seat plan whose holders' users join the GROUP group."""
    return seat_plan_offer(monkeypatch, group=GROUP)


def groups_of(user: User) -> set[str]:
    return set(User.objects.get(pk=user.pk).groups.values_list("name", flat=True))


def test_every_member_of_a_subscribed_team_is_in_its_plan_group(grouped_price):
    team = team_with_members(members=1)
    admin, member = (membership.user for membership in team.memberships.all())
    outsider = user_create()
    team_subscribe(team, grouped_price)

    assert holder_groups_sync(holder=team) == {GROUP}

    assert GROUP in groups_of(admin) and GROUP in groups_of(member)
    assert GROUP not in groups_of(outsider)


def test_joining_and_leaving_the_team_moves_the_user_in_and_out(grouped_price):
    team = team_with_members()
    admin = team.memberships.get().user
    team_subscribe(team, grouped_price)
    holder_groups_sync(holder=team)

    joined = member_join(team=team, invited_by=admin)
    assert GROUP in groups_of(joined.user)

    team_member_remove(membership=joined)
    assert GROUP not in groups_of(joined.user)
    assert GROUP in groups_of(admin)


def test_a_member_keeps_the_group_while_another_of_their_teams_has_the_plan(grouped_price):
    first = team_with_members(name="First")
    admin = first.memberships.get().user
    second = team_with_members(name="Second")
    both = member_join(team=first, invited_by=admin).user
    member_join(team=second, invited_by=second.memberships.get().user, user=both)
    team_subscribe(first, grouped_price)
    team_subscribe(second, grouped_price)
    holder_groups_sync(holder=first)

    stripe_client().v1.subscriptions.cancel(first.subscription.id)
    holder_subscription_sync(holder=first)
    first.refresh_from_db()
    assert holder_groups_sync(holder=first) == set()

    assert GROUP not in groups_of(admin)
    assert GROUP in groups_of(both)  # through the second team
