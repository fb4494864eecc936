"""Pushing seat counts to Stripe: invite, accept and remove change the quantity after a sync;
unchanged holders cost no Stripe call; syncs are idempotent, debounced, and race-free."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import close_old_connections, transaction
from django.utils import timezone

from accounts.billing.seat_sync import (
    SyncOutcome,
    holder_quantity_sync,
    holders_pending_sync,
    subscriptions_sync,
)
from accounts.models import Membership, SubscriptionQuantityUpdate, Team
from accounts.tasks import subscriptions_sync_task
from accounts.teams.services import (
    team_invitation_accept,
    team_invitation_create,
    team_member_remove,
)
from portal.stripe_client import StripeUnavailableError
from tests.accounts.billing_helpers import subscription_start
from tests.accounts.teams.team_helpers import (
    member_join,
    seat_plan_offer,
    stripe_quantity,
    subscription_updated_events,
    team_subscribe,
    team_with_members,
    user_create,
)
from tests.portal.test_stripe_client import closed_port

pytestmark = pytest.mark.django_db


def test_invite_and_accept_raise_the_quantity_at_stripe_after_a_sync(seat_price, mailoutbox):
    admin = user_create()
    team = team_with_members(admin=admin, members=1)
    subscription_id = team_subscribe(team, seat_price)
    assert stripe_quantity(subscription_id) == 2

    invitee = user_create()
    invitation = team_invitation_create(team=team, email=invitee.email, invited_by=admin)
    subscriptions_sync()
    assert stripe_quantity(subscription_id) == 2  # an invitation is not a seat yet

    team_invitation_accept(invitation=invitation, user=invitee)
    report = subscriptions_sync()

    assert report.count(SyncOutcome.UPDATED) == 1
    assert stripe_quantity(subscription_id) == 3
    team.refresh_from_db()
    assert team.subscription.stripe_data["items"]["data"][0]["quantity"] == 3  # dj-stripe too
    update = SubscriptionQuantityUpdate.objects.get(subscription_id=subscription_id)
    assert (update.holder_reference, update.quantity_before, update.quantity) == (
        f"team:{team.pk}",
        2,
        3,
    )


def test_removing_a_member_lowers_the_quantity_after_a_sync(seat_price):
    team = team_with_members(members=2)
    subscription_id = team_subscribe(team, seat_price)
    member = team.memberships.filter(role=Membership.Role.MEMBER).first()

    team_member_remove(membership=member)
    subscriptions_sync()

    assert stripe_quantity(subscription_id) == 2


def test_unchanged_holders_make_no_stripe_call(seat_price, local_stripe):
    team = team_with_members(members=1)
    subscription_id = team_subscribe(team, seat_price)
    before = subscription_updated_events(subscription_id)

    first = subscriptions_sync()  # never synced, but Stripe already bills 2 seats
    second = subscriptions_sync()  # nothing changed since

    assert first.count(SyncOutcome.IN_SYNC) == 1
    assert second.checked == 0
    assert subscription_updated_events(subscription_id) == before
    assert not SubscriptionQuantityUpdate.objects.exists()


def test_syncing_twice_changes_nothing_the_second_time(seat_price):
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)
    member_join(team=team, invited_by=admin)

    subscriptions_sync()
    after_first = subscription_updated_events(subscription_id)
    second = subscriptions_sync()

    assert stripe_quantity(subscription_id) == 2
    assert second.checked == 0
    assert subscription_updated_events(subscription_id) == after_first
    assert SubscriptionQuantityUpdate.objects.count() == 1


def test_a_change_after_the_sync_leaves_the_team_pending_again(seat_price):
    admin = user_create()
    team = team_with_members(admin=admin)
    team_subscribe(team, seat_price)
    subscriptions_sync()
    assert holders_pending_sync() == []

    member_join(team=team, invited_by=admin)

    assert holders_pending_sync() == [(Team, team.pk)]


def test_proration_behavior_is_configurable(seat_price, settings):
    settings.PORTAL_SEAT_SYNC_PRORATION_BEHAVIOR = "none"
    admin = user_create()
    team = team_with_members(admin=admin)
    team_subscribe(team, seat_price)
    member_join(team=team, invited_by=admin)

    subscriptions_sync()

    update = SubscriptionQuantityUpdate.objects.get()
    assert update.proration_behavior == "none"


def test_updates_over_the_hourly_limit_are_deferred_and_stay_pending(seat_price, settings):
    settings.PORTAL_SEAT_SYNC_MAX_UPDATES_PER_HOUR = 1
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)
    member_join(team=team, invited_by=admin)
    assert subscriptions_sync().count(SyncOutcome.UPDATED) == 1
    events_after_first = subscription_updated_events(subscription_id)

    member_join(team=team, invited_by=admin)
    deferred = subscriptions_sync()

    assert deferred.count(SyncOutcome.DEFERRED) == 1
    assert stripe_quantity(subscription_id) == 2
    assert subscription_updated_events(subscription_id) == events_after_first
    assert holders_pending_sync() == [(Team, team.pk)]

    # An hour later the limit has room again, and the pending change goes through.
    SubscriptionQuantityUpdate.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    assert subscriptions_sync().count(SyncOutcome.UPDATED) == 1
    assert stripe_quantity(subscription_id) == 3


def test_a_failed_push_leaves_the_team_pending(seat_price, settings):
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)
    member_join(team=team, invited_by=admin)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    report = subscriptions_sync()

    assert report.count(SyncOutcome.FAILED) == 1 and report.errors
    assert holders_pending_sync() == [(Team, team.pk)]
    with pytest.raises(StripeUnavailableError):
        holder_quantity_sync(model=Team, pk=team.pk)
    assert holders_pending_sync() == [(Team, team.pk)]
    settings.STRIPE_API_BASE = settings.STRIPE_API_HOST
    subscriptions_sync()
    assert stripe_quantity(subscription_id) == 2


def test_a_flat_plan_is_never_given_a_quantity(stripe_settings, monkeypatch):
    price = seat_plan_offer(monkeypatch, unit_amount=2000, per_seat=False)
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = subscription_start(holder=team, price=price, quantity=1)
    member_join(team=team, invited_by=admin)

    report = subscriptions_sync()

    assert report.count(SyncOutcome.NOT_BILLED_PER_SEAT) == 1
    assert stripe_quantity(subscription_id) == 1


def test_users_keep_the_seats_they_bought(seat_price, user):
    """A plain user does not count seats (no get_quantity override): the sync leaves them."""
    subscription_id = subscription_start(holder=user, price=seat_price, quantity=5)

    report = subscriptions_sync()

    assert report.checked == 0
    assert stripe_quantity(subscription_id) == 5


def test_the_command_shows_progress_and_a_summary(seat_price):
    admin = user_create()
    team = team_with_members(admin=admin)
    team_subscribe(team, seat_price)
    member_join(team=team, invited_by=admin)
    out = StringIO()

    call_command("sync_subscriptions", "--proration-behavior", "always_invoice", stdout=out)

    output = out.getvalue()
    assert "1 holder changed since their last sync" in output
    assert f"[1/1] team:{team.pk} updated" in output
    assert "1 → 2 seats" in output
    assert "Done: 1 checked: 1 updated" in output
    assert SubscriptionQuantityUpdate.objects.get().proration_behavior == "always_invoice"


def test_the_periodic_task_pushes_changed_teams(seat_price):
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)
    member_join(team=team, invited_by=admin)

    assert subscriptions_sync_task.delay().get() == 1
    assert stripe_quantity(subscription_id) == 2


def test_the_sync_is_scheduled_hourly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["subscriptions-sync"]
    assert entry["task"] == subscriptions_sync_task.name
    assert entry["schedule"] == 3600.0


@pytest.mark.django_db(transaction=True)
def test_syncs_at_once_update_stripe_once(seat_price):
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)
    member_join(team=team, invited_by=admin)
    member_join(team=team, invited_by=admin)
    before = subscription_updated_events(subscription_id)
    start = threading.Barrier(4)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def sync() -> None:
        try:
            start.wait()
            outcomes.append(holder_quantity_sync(model=Team, pk=team.pk)[0])
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=sync) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert sorted(outcomes).count(SyncOutcome.UPDATED) == 1
    assert set(outcomes) - {SyncOutcome.UPDATED} <= {SyncOutcome.BUSY, SyncOutcome.UNCHANGED}
    assert stripe_quantity(subscription_id) == 3
    assert subscription_updated_events(subscription_id) == before + 1
    assert SubscriptionQuantityUpdate.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_syncs_that_read_the_holder_together_update_stripe_once(seat_price):
    """Both syncs see the team pending before either claims it (a writer holds the team's row
    meanwhile); the conditional claim lets only one of them push."""
    admin = user_create()
    team = team_with_members(admin=admin)
    subscription_id = team_subscribe(team, seat_price)
    member_join(team=team, invited_by=admin)
    before = subscription_updated_events(subscription_id)
    row_held, release = threading.Event(), threading.Event()
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with transaction.atomic():
                Team.objects.filter(pk=team.pk).update(name="Acme, renamed")
                row_held.set()
                release.wait(10)
        finally:
            close_old_connections()

    def sync() -> None:
        try:
            outcomes.append(holder_quantity_sync(model=Team, pk=team.pk)[0])
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            close_old_connections()

    holding = threading.Thread(target=writer)
    holding.start()
    assert row_held.wait(10)
    syncs = [threading.Thread(target=sync) for _ in range(2)]
    for thread in syncs:
        thread.start()
    time.sleep(0.5)  # both have read the row and wait for the writer's lock to claim it
    release.set()
    for thread in [holding, *syncs]:
        thread.join(30)

    assert errors == []
    assert sorted(outcomes) == [SyncOutcome.BUSY, SyncOutcome.UPDATED]
    assert stripe_quantity(subscription_id) == 2
    assert subscription_updated_events(subscription_id) == before + 1
