"""A change of members reaches Stripe on its own, soon after (`PORTAL_SEAT_SYNC_DELAY_SECONDS`),
with no broker and no scheduler: accepting and removing through the team pages push the new
count, a burst of changes is one push of the final count, pushes of one team never overlap,
each carries an idempotency key, and the team page says when Stripe hears of a change.

These run without a broker, as `make run` does: the push is a timer in this process, which
reads committed rows (hence transactional tests)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.billing.seat_scheduling import (
    holder_seats_sync_soon,
    seat_pushes_wait,
    seat_sync_when,
)
from accounts.billing.seat_sync import PUSH_LOCK_KEY
from accounts.models import Membership, SubscriptionQuantityUpdate
from accounts.teams.services import team_invitation_create
from portal.stripe_client import stripe_client
from tests.accounts.teams.team_helpers import (
    member_join,
    stripe_quantity,
    team_subscribe,
    team_with_members,
    user_create,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def prompt_pushes(team_mode, settings) -> int:
    """Teams hold subscriptions, and a change of members is pushed a second after it."""
    settings.PORTAL_SEAT_SYNC_DELAY_SECONDS = 1
    return 1


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def accept_through_the_page(team, admin) -> Membership:
    """A new user accepts an invitation to the team on its page, as a browser would."""
    invitee = user_create()
    invitation = team_invitation_create(team=team, email=invitee.email, invited_by=admin)
    response = logged_in(invitee).post(reverse("accounts:team_invitation", args=[invitation.token]))
    assert response.status_code == 303
    return team.memberships.get(user=invitee)


def pushes_of(subscription_id: str) -> list[tuple[int, int]]:
    return list(
        SubscriptionQuantityUpdate.objects.filter(subscription_id=subscription_id)
        .order_by("pk")
        .values_list("quantity_before", "quantity")
    )


def test_a_member_who_joins_is_billed_soon_after_without_any_sync(
    prompt_pushes, seat_price, mailoutbox
):
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)

    accept_through_the_page(team, admin)

    assert seat_pushes_wait(timeout=15)
    assert stripe_quantity(subscription_id) == 2
    assert pushes_of(subscription_id) == [(1, 2)]
    team.refresh_from_db()
    assert team.last_synced_with_stripe >= team.billing_details_last_changed


def test_a_burst_of_changes_is_one_push_of_the_final_count(
    prompt_pushes, seat_price, mailoutbox, settings
):
    settings.PORTAL_SEAT_SYNC_DELAY_SECONDS = 3
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)

    joined = [accept_through_the_page(team, admin) for _ in range(3)]
    response = logged_in(admin).post(
        reverse("accounts:team_member_remove", args=[team.slug, joined[0].pk])
    )
    assert response.status_code == 303

    assert seat_pushes_wait(timeout=15)
    # 1 + 3 - 1 members: read when the push ran, sent once.
    assert stripe_quantity(subscription_id) == 3
    assert pushes_of(subscription_id) == [(1, 3)]


def test_removing_a_member_lowers_the_bill_soon_after(prompt_pushes, seat_price, mailoutbox):
    admin = user_create()
    team = team_with_members(admin=admin, members=2)
    subscription_id = team_subscribe(team, seat_price)
    member = team.memberships.filter(role=Membership.Role.MEMBER).first()

    logged_in(admin).post(reverse("accounts:team_member_remove", args=[team.slug, member.pk]))

    assert seat_pushes_wait(timeout=15)
    assert stripe_quantity(subscription_id) == 2


def test_a_push_that_finds_another_under_way_waits_for_it_and_sends_the_latest_count(
    prompt_pushes, seat_price, mailoutbox
):
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)
    # Another push of this team is under way (another process's, say).
    lock = PUSH_LOCK_KEY.format(f"team:{team.pk}")
    cache.add(lock, True, timeout=60)

    accept_through_the_page(team, admin)
    time.sleep(2.5)  # the push came, found the other one, and waits
    assert stripe_quantity(subscription_id) == 1
    accept_through_the_page(team, admin)
    cache.delete(lock)  # the other push is done

    assert seat_pushes_wait(timeout=15)
    assert stripe_quantity(subscription_id) == 3
    assert pushes_of(subscription_id) == [(1, 3)]


def test_each_push_carries_an_idempotency_key_naming_the_change(
    prompt_pushes, seat_price, mailoutbox
):
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)

    accept_through_the_page(team, admin)
    assert seat_pushes_wait(timeout=15)

    events = stripe_client().v1.events.list(
        params={"type": "customer.subscription.updated", "limit": 100}
    )
    keys = [
        event["request"]["idempotency_key"] or ""
        for event in events.data
        if event.data.object["id"] == subscription_id
    ]
    pushes = [key for key in keys if key.startswith(f"portal-seats-{subscription_id}-")]
    assert len(pushes) == 1
    assert "-2-create_prorations-" in pushes[0]


def test_nothing_is_scheduled_without_a_subscription_or_with_the_delay_at_zero(
    prompt_pushes, seat_price, settings
):
    team = team_with_members()
    assert not holder_seats_sync_soon(holder=team)  # no subscription yet
    team_subscribe(team, seat_price)
    assert holder_seats_sync_soon(holder=team)
    assert seat_pushes_wait(timeout=15)

    settings.PORTAL_SEAT_SYNC_DELAY_SECONDS = 0

    assert not holder_seats_sync_soon(holder=team)
    assert not holder_seats_sync_soon(holder=user_create())  # a user counts no seats


def test_the_team_page_says_when_stripe_hears_of_a_change(
    team_mode, seat_price, settings, mailoutbox
):
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)
    member_join(team=team, invited_by=admin)  # the services alone: nothing pushed yet
    page_url = reverse("accounts:team_detail", args=[team.slug])

    page = logged_in(admin).get(page_url).content.decode()

    # Without a broker and with prompt pushes off, only the command pushes.
    assert seat_sync_when() == "when manage.py sync_subscriptions next runs"
    assert (
        "Your team has 2 members and pays for 1 seat: your subscription moves to 2 seats when "
        "manage.py sync_subscriptions next runs." in page
    )

    settings.PORTAL_SEAT_SYNC_DELAY_SECONDS = 1
    page = logged_in(admin).get(page_url).content.decode()

    assert "your subscription moves to 2 seats within a minute." in page
    # ...which holds even when an earlier push failed: showing the page pushes what waits.
    assert seat_pushes_wait(timeout=15)
    assert stripe_quantity(subscription_id) == 2
