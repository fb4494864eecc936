"""Seat sync: push each holder's seat count (`get_quantity()`) to its per-seat subscription.

`sync_subscriptions` (and its Celery task) runs `subscriptions_sync`, which pushes the quantity
of every holder whose billing details changed since its last sync, at most a few times an hour
per subscription, and reports what it did. A change of members also has its holder pushed
alone, soon after (`holder_quantity_sync`, scheduled by `accounts.billing.seat_scheduling`).

Pushes of one holder never overlap: each holds a lock in Django's cache while it runs (share
the cache between processes in production), so the last push sends the latest count. Each
Stripe update carries an idempotency key made of the change it pushes, so a retried request
is applied once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db.models import F, Q
from django.utils import timezone
from djstripe.models import Subscription

from accounts.app_settings import app_settings
from accounts.billing.state import billing_state
from accounts.models import (
    SubscriptionHolder,
    SubscriptionQuantityUpdate,
)
from accounts.selectors import holder_models, holder_reference
from portal.stripe_client import (
    StripeRequestError,
    StripeUnavailableError,
    stripe_client,
    translate_stripe_errors,
)

logger = logging.getLogger(__name__)


def holder_counts_seats(*, model: type[SubscriptionHolder]) -> bool:
    """Whether the holder model counts its own seats (overrides `get_quantity()`), so that
    `sync_subscriptions` manages its quantity. A plain user keeps the seats they bought."""
    return model.get_quantity is not SubscriptionHolder.get_quantity


def holders_pending_sync() -> list[tuple[type[SubscriptionHolder], int]]:
    """(model, pk) of every holder with a subscription whose billing details changed since it
    was last synced with Stripe (or was never synced), for the models that count seats."""
    pending: list[tuple[type[SubscriptionHolder], int]] = []
    for model in holder_models().values():
        if not holder_counts_seats(model=model):
            continue
        pks = (
            model._default_manager.filter(subscription__isnull=False)
            .filter(
                Q(last_synced_with_stripe__isnull=True)
                | Q(billing_details_last_changed__gt=F("last_synced_with_stripe"))
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        pending.extend((model, pk) for pk in pks)
    return pending


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


# The cache entry a holder's push holds while it runs, and how long at most (a push is one
# Stripe call, far shorter; the timeout frees the lock of a process that died mid-push).
PUSH_LOCK_KEY = "accounts:seat-push:{}"
PUSH_LOCK_SECONDS = 120


def _quantity_push(
    holder: SubscriptionHolder,
    *,
    proration_behavior: str,
    max_updates_per_hour: int,
    changed_at: datetime,
) -> tuple[str, str]:
    state = billing_state(holder=holder)
    if not state.is_live:
        return SyncOutcome.NOT_BILLED_PER_SEAT, "no live subscription"
    subscription_id = state.subscription_id
    # Only a subscription of one item, a per-seat plan of `pricing.metadata`, bills seats.
    item = state.plan_item
    licensed = len(state.items) - len(state.metered_items)
    if licensed != 1 or state.plan is None or not state.plan.per_seat or item is None:
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
    # The same change pushed twice (a retry after a lost answer) is applied once.
    idempotency_key = (
        f"portal-seats-{subscription_id}-{item.id}-{quantity}-{proration_behavior}-"
        f"{changed_at.timestamp():.6f}"
    )
    with translate_stripe_errors("update the number of seats"):
        updated = stripe_client().v1.subscriptions.update(
            subscription_id,
            params={
                "items": [{"id": item.id, "quantity": quantity}],
                "proration_behavior": proration_behavior,
            },
            options={"idempotency_key": idempotency_key},
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
    the one that finds the value it read wins), and no database lock is held over the Stripe
    call. A push of the holder still under way (a change came in during it) makes this one
    `BUSY`, and the holder stays pending: pushes never overlap, so none lands after a later
    one. A holder deferred or failed gets its old `last_synced_with_stripe` back, so it stays
    pending. Raises `StripeUnavailableError` / `StripeRequestError` after releasing the claim.
    """
    lock = PUSH_LOCK_KEY.format(f"{model._meta.model_name}:{pk}")
    if not cache.add(lock, True, timeout=PUSH_LOCK_SECONDS):
        return SyncOutcome.BUSY, "a push of its seats is under way"
    try:
        return _holder_quantity_sync(
            model=model,
            pk=pk,
            proration_behavior=proration_behavior,
            max_updates_per_hour=max_updates_per_hour,
        )
    finally:
        cache.delete(lock)


def _holder_quantity_sync(
    *,
    model: type[SubscriptionHolder],
    pk: int,
    proration_behavior: str | None,
    max_updates_per_hour: int | None,
) -> tuple[str, str]:
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
            changed_at=row["billing_details_last_changed"],
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
