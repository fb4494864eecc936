"""Taking the billing snapshots: today's from dj-stripe's rows (`billing_snapshot`, and Celery
beat every hour), and past days' from the stored webhook events and the rows
(`billing_snapshot --backfill`). The only writer of `accounts.metrics.models`.

A snapshot keeps a day's MRR per currency (with its paying subscribers and MRR per plan), the
day's trials, and each subscription whose MRR changed since the snapshot before, which is where
the movements (new, expansion, contraction, churn) come from. Snapshots are written in date
order: taking a day's snapshot again replaces it, and a backfill replaces every day from where
it starts. No Stripe calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.billing.revenue_maths import (
    RevenueSubscription,
    SubscriptionRevenue,
    TrialOutcomes,
    Valued,
    movement_totals,
    mrr_figures,
    mrr_movements,
    subscription_revenue,
    trial_outcomes,
)
from accounts.metrics.models import BillingSnapshot, MrrSnapshot, SubscriptionMrr
from accounts.metrics.subscriptions import (
    SubscriptionHistory,
    current_subscriptions,
    subscription_histories,
)
from pricing.price_maths import amount_format

Progress = Callable[[str], None]


class SnapshotOrderError(Exception):
    """A snapshot was asked for a day before the latest one (snapshots are kept in order)."""


@dataclass(frozen=True)
class SnapshotReport:
    """What one snapshot found: its day, the subscriptions read, MRR per currency."""

    date: date
    subscriptions: int
    mrr: dict[str, int]
    opening: bool


def _say(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)


def _latest_values(*, before: date) -> dict[str, Valued]:
    """Each subscription's MRR in the latest snapshot before `before` (those above zero)."""
    latest = (
        SubscriptionMrr.objects.filter(snapshot__date__lt=before)
        .values("subscription_id")
        .annotate(last=Max("pk"))
        .values("last")
    )
    rows = SubscriptionMrr.objects.filter(pk__in=latest).values_list(
        "subscription_id", "currency", "mrr"
    )
    return {subscription_id: (currency, mrr) for subscription_id, currency, mrr in rows if mrr}


def _snapshot_write(
    *,
    day: date,
    taken_at: datetime,
    source: str,
    revenues: Iterable[SubscriptionRevenue],
    previous: Mapping[str, Valued],
    trials: TrialOutcomes,
    opening: bool,
) -> dict[str, Valued]:
    """Store one day's snapshot; each subscription's MRR after it (those above zero)."""
    revenues = list(revenues)
    after = {r.subscription_id: (r.currency, r.mrr) for r in revenues if r.mrr > 0}
    figures = mrr_figures(revenues)
    snapshot = BillingSnapshot.objects.create(
        date=day,
        taken_at=taken_at,
        source=source,
        opening=opening,
        trials_running=trials.running,
        trials_ended=trials.ended,
        trials_converted=trials.converted,
    )
    if opening:
        changes = [
            SubscriptionMrr(
                snapshot=snapshot,
                subscription_id=subscription_id,
                currency=currency,
                mrr=mrr,
                kind=SubscriptionMrr.Kind.OPENING,
            )
            for subscription_id, (currency, mrr) in sorted(after.items())
        ]
        totals = {}
    else:
        movements = mrr_movements(before=previous, after=after)
        changes = [
            SubscriptionMrr(
                snapshot=snapshot,
                subscription_id=movement.subscription_id,
                currency=movement.currency,
                mrr=movement.after,
                previous_mrr=movement.before,
                kind=movement.kind.value,
            )
            for movement in movements
        ]
        totals = movement_totals(movements)
    SubscriptionMrr.objects.bulk_create(changes, batch_size=500)
    rows = []
    for currency in sorted(set(figures) | set(totals)):
        figure, moved = figures.get(currency), totals.get(currency)
        rows.append(
            MrrSnapshot(
                snapshot=snapshot,
                currency=currency,
                mrr=figure.mrr if figure else 0,
                subscribers=figure.subscribers if figure else 0,
                by_plan=dict(sorted(figure.by_plan.items())) if figure else {},
                new=moved.new if moved else 0,
                expansion=moved.expansion if moved else 0,
                contraction=moved.contraction if moved else 0,
                churn=moved.churn if moved else 0,
            )
        )
    MrrSnapshot.objects.bulk_create(rows)
    return after


def _revenues(
    subscriptions: Iterable[RevenueSubscription], *, at: datetime
) -> list[SubscriptionRevenue]:
    return [subscription_revenue(subscription=s, at=at) for s in subscriptions]


@transaction.atomic
def billing_snapshot_take(
    *, now: datetime | None = None, progress: Progress | None = None
) -> SnapshotReport:
    """Take today's snapshot from dj-stripe's rows, as of `now` (replacing today's, if taken).

    Raises `SnapshotOrderError` when a later day has a snapshot (the clock went back).
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    if BillingSnapshot.objects.filter(date__gt=day).exists():
        raise SnapshotOrderError(
            f"There is a snapshot after {day}: snapshots are taken in date order."
        )
    subscriptions = current_subscriptions()
    _say(progress, f"Read {len(subscriptions)} subscriptions")
    BillingSnapshot.objects.filter(date=day).delete()
    opening = not BillingSnapshot.objects.exists()
    revenues = _revenues(subscriptions, at=now)
    after = _snapshot_write(
        day=day,
        taken_at=now,
        source=BillingSnapshot.Source.DAILY,
        revenues=revenues,
        previous={} if opening else _latest_values(before=day),
        trials=trial_outcomes(subscriptions, at=now),
        opening=opening,
    )
    mrr = {currency: figure.mrr for currency, figure in mrr_figures(revenues).items()}
    _say(progress, f"Snapshot of {day}: {len(after)} paying subscriptions, MRR {_amounts(mrr)}")
    return SnapshotReport(date=day, subscriptions=len(subscriptions), mrr=mrr, opening=opening)


def _amounts(mrr: Mapping[str, int]) -> str:
    if not mrr:
        return "0"
    return ", ".join(
        amount_format(amount=amount, currency=currency, cents=True)
        for currency, amount in sorted(mrr.items())
    )


# --- Backfill ---------------------------------------------------------------------------------


def _day_end(day: date) -> datetime:
    """The last moment of `day` in the site's time zone."""
    start = datetime.combine(day + timedelta(days=1), time.min)
    return timezone.make_aware(start) - timedelta(microseconds=1)


@dataclass(frozen=True)
class BackfillReport:
    first: date | None
    days: int
    subscriptions: int


@transaction.atomic
def billing_snapshots_backfill(
    *,
    since: date | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> BackfillReport:
    """Rebuild every day's snapshot from `since` (default: the day the first subscription there
    is a row or an event of started) to yesterday from the stored webhook events and
    dj-stripe's rows, replacing those days' snapshots, then take today's from the rows.

    Each day is as of its last moment. A subscription is read from its events, and from its
    row's dates before its first event or without any (`SubscriptionHistory`).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    histories = subscription_histories()
    _say(progress, f"Read {len(histories)} subscriptions and their stored events")
    points = {h.subscription_id: sorted(h.change_points()) for h in histories}
    first = since or min((timezone.localdate(p[0]) for p in points.values() if p), default=today)
    first = min(first, today)
    BillingSnapshot.objects.filter(date__gte=first).delete()
    # With no snapshot before it, the first day opens the books: the subscriptions that were
    # already there are its opening MRR (all new when none was).
    existed_before = any(p and timezone.localdate(p[0]) < first for p in points.values())
    opening = existed_before and not BillingSnapshot.objects.exists()
    previous = _latest_values(before=first)
    # The days each subscription may change on, so each is read again only then.
    changes_on: dict[date, list[SubscriptionHistory]] = {}
    for history in histories:
        days = {timezone.localdate(moment) for moment in points[history.subscription_id]}
        for day in {max(day, first) for day in days if day < today} | {first}:
            changes_on.setdefault(day, []).append(history)
    current: dict[str, RevenueSubscription] = {}
    revenues: dict[str, SubscriptionRevenue] = {}
    day, count = first, 0
    while day < today:
        moment = _day_end(day)
        for history in changes_on.get(day, ()):
            subscription = history.at(moment)
            if subscription is None:
                current.pop(history.subscription_id, None)
                revenues.pop(history.subscription_id, None)
            else:
                current[history.subscription_id] = subscription
        # Only MRR read at a change point can change: the rest is as it was.
        for history in changes_on.get(day, ()):
            subscription = current.get(history.subscription_id)
            if subscription is not None:
                revenues[subscription.id] = subscription_revenue(
                    subscription=subscription, at=moment
                )
        previous = _snapshot_write(
            day=day,
            taken_at=moment,
            source=BillingSnapshot.Source.BACKFILL,
            revenues=revenues.values(),
            previous=previous,
            trials=trial_outcomes(current.values(), at=moment),
            opening=opening,
        )
        opening = False
        count += 1
        if count % 30 == 0:
            _say(progress, f"  {day}: {count} days")
        day += timedelta(days=1)
    _say(progress, f"Backfilled {count} days from {first}")
    billing_snapshot_take(now=now, progress=progress)
    return BackfillReport(first=first, days=count + 1, subscriptions=len(histories))
