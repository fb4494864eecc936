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
    CurrencyFigures,
    MovementTotals,
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


@dataclass(frozen=True)
class _Day:
    """One day's snapshot, worked out and not stored yet."""

    day: date
    taken_at: datetime
    source: str
    opening: bool
    trials: TrialOutcomes
    figures: dict[str, CurrencyFigures]
    totals: dict[str, MovementTotals]
    # (subscription id, currency, MRR, MRR before, kind) of each subscription that changed.
    changes: list[tuple[str, str, int, int, str]]
    # Each subscription's MRR after the day (those above zero): the next day's `previous`.
    after: dict[str, Valued]


def _day_work_out(
    *,
    day: date,
    taken_at: datetime,
    source: str,
    revenues: Iterable[SubscriptionRevenue],
    previous: Mapping[str, Valued],
    trials: TrialOutcomes,
    opening: bool,
) -> _Day:
    """A day's figures, and each subscription's movement since `previous` (none when the day
    opens the books: its subscriptions are its opening MRR)."""
    revenues = list(revenues)
    after = {r.subscription_id: (r.currency, r.mrr) for r in revenues if r.mrr > 0}
    if opening:
        opened = SubscriptionMrr.Kind.OPENING.value
        changes = [(sid, cur, mrr, 0, opened) for sid, (cur, mrr) in sorted(after.items())]
        totals: dict[str, MovementTotals] = {}
    else:
        movements = mrr_movements(before=previous, after=after)
        changes = [
            (m.subscription_id, m.currency, m.after, m.before, m.kind.value) for m in movements
        ]
        totals = movement_totals(movements)
    return _Day(
        day=day,
        taken_at=taken_at,
        source=source,
        opening=opening,
        trials=trials,
        figures=mrr_figures(revenues),
        totals=totals,
        changes=changes,
        after=after,
    )


def _day_store(worked: _Day) -> None:
    snapshot = BillingSnapshot.objects.create(
        date=worked.day,
        taken_at=worked.taken_at,
        source=worked.source,
        opening=worked.opening,
        trials_running=worked.trials.running,
        trials_ended=worked.trials.ended,
        trials_converted=worked.trials.converted,
    )
    SubscriptionMrr.objects.bulk_create(
        [
            SubscriptionMrr(
                snapshot=snapshot,
                subscription_id=subscription_id,
                currency=currency,
                mrr=mrr,
                previous_mrr=before,
                kind=kind,
            )
            for subscription_id, currency, mrr, before, kind in worked.changes
        ],
        batch_size=500,
    )
    rows = []
    for currency in sorted(set(worked.figures) | set(worked.totals)):
        figure = worked.figures.get(currency) or CurrencyFigures(currency=currency)
        moved = worked.totals.get(currency) or MovementTotals()
        rows.append(
            MrrSnapshot(
                snapshot=snapshot,
                currency=currency,
                mrr=figure.mrr,
                subscribers=figure.subscribers,
                by_plan=dict(sorted(figure.by_plan.items())),
                new=moved.new,
                expansion=moved.expansion,
                contraction=moved.contraction,
                churn=moved.churn,
            )
        )
    MrrSnapshot.objects.bulk_create(rows)


def _revenues(
    subscriptions: Iterable[RevenueSubscription], *, at: datetime
) -> list[SubscriptionRevenue]:
    return [subscription_revenue(subscription=s, at=at) for s in subscriptions]


def billing_snapshot_take(
    *, now: datetime | None = None, progress: Progress | None = None
) -> SnapshotReport:
    """Take today's snapshot from dj-stripe's rows, as of `now` (replacing today's, if taken).

    The subscriptions are read and priced first; only the comparison with the snapshot before
    and the writes hold the transaction (on SQLite, the database's write lock).
    Raises `SnapshotOrderError` when a later day has a snapshot (the clock went back).
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    subscriptions = current_subscriptions()
    _say(progress, f"Read {len(subscriptions)} subscriptions")
    revenues = _revenues(subscriptions, at=now)
    trials = trial_outcomes(subscriptions, at=now)
    with transaction.atomic():
        if BillingSnapshot.objects.filter(date__gt=day).exists():
            raise SnapshotOrderError(
                f"There is a snapshot after {day}: snapshots are taken in date order."
            )
        BillingSnapshot.objects.filter(date=day).delete()
        opening = not BillingSnapshot.objects.exists()
        worked = _day_work_out(
            day=day,
            taken_at=now,
            source=BillingSnapshot.Source.DAILY,
            revenues=revenues,
            previous={} if opening else _latest_values(before=day),
            trials=trials,
            opening=opening,
        )
        _day_store(worked)
    mrr = {currency: figure.mrr for currency, figure in worked.figures.items()}
    _say(
        progress,
        f"Snapshot of {day}: {len(worked.after)} paying subscriptions, MRR {_amounts(mrr)}",
    )
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
    row's dates before its first event or without any (`SubscriptionHistory`). The days are
    worked out first and stored in one short transaction.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    histories = subscription_histories()
    _say(progress, f"Read {len(histories)} subscriptions and their stored events")
    points = {h.subscription_id: sorted(h.change_points()) for h in histories}
    first = since or min((timezone.localdate(p[0]) for p in points.values() if p), default=today)
    first = min(first, today)
    # With no snapshot before it, the first day opens the books: the subscriptions that were
    # already there are its opening MRR (all new when none was).
    existed_before = any(p and timezone.localdate(p[0]) < first for p in points.values())
    opening = existed_before and not BillingSnapshot.objects.filter(date__lt=first).exists()
    previous = _latest_values(before=first)
    # The days each subscription may change on, so each is read again only then.
    changes_on: dict[date, list[SubscriptionHistory]] = {}
    for history in histories:
        days = {timezone.localdate(moment) for moment in points[history.subscription_id]}
        for day in {max(day, first) for day in days if day < today} | {first}:
            changes_on.setdefault(day, []).append(history)
    current: dict[str, RevenueSubscription] = {}
    revenues: dict[str, SubscriptionRevenue] = {}
    worked: list[_Day] = []
    day = first
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
                revenues[subscription.id] = subscription_revenue(
                    subscription=subscription, at=moment
                )
        worked.append(
            _day_work_out(
                day=day,
                taken_at=moment,
                source=BillingSnapshot.Source.BACKFILL,
                revenues=revenues.values(),
                previous=previous,
                trials=trial_outcomes(current.values(), at=moment),
                opening=opening,
            )
        )
        previous, opening = worked[-1].after, False
        if len(worked) % 30 == 0:
            _say(progress, f"  {day}: {len(worked)} days worked out")
        day += timedelta(days=1)
    with transaction.atomic():
        BillingSnapshot.objects.filter(date__gte=first).delete()
        for each in worked:
            _day_store(each)
    _say(progress, f"Backfilled {len(worked)} days from {first}")
    billing_snapshot_take(now=now, progress=progress)
    return BackfillReport(first=first, days=len(worked) + 1, subscriptions=len(histories))
