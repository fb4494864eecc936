"""MRR and its movements, as pure functions: the definitions the billing dashboard, its daily
snapshots, the admin's subscription list and the README use, written once. No Django models, no
Stripe calls: the inputs are plain values (a subscription's `BillingState`, read from
dj-stripe's rows by `accounts.billing.state`, becomes a `RevenueSubscription` here), the
outputs whole amounts in the currency's minor unit (cents), per currency.

- **MRR** (monthly recurring revenue) is what every live subscription bills per month: each
  item at its quantity as Stripe prices it (per unit, per seat, graduated and volume tiers,
  packages rounded up or down as the price says; `pricing.price_maths`), less the discount in
  force, brought to a month (a year / 12, 3 months / 3, a week x 52 / 12, a day x 365 / 12)
  and rounded to the minor unit, half up, once per subscription.
- **Discounts** that recur count: `forever`, and `repeating` from the discount's start until
  its end. A `once` coupon takes off one invoice, not a recurring amount, and is left out. A
  percent off is taken from each line it applies to (rounded half up, line by line), an amount
  off once per invoice, at most what the lines it applies to come to, only in its currency.
- **Which subscriptions count**: `active` and `past_due` ones (a past-due subscription counts
  until Stripe cancels it); a subscription set to cancel counts until it ends. Trials
  (`trialing`), and `paused`, `canceled`, `incomplete`, `incomplete_expired` and `unpaid`
  subscriptions, count for nothing. Usage-based (metered) prices are not recurring revenue.
- **Currencies** are kept apart: every figure is per currency, never converted.
- **ARR** is MRR x 12; **ARPU** is MRR / paying subscribers (those with an MRR above zero),
  rounded half up.
- **Movements**, per subscription between two consecutive snapshots: from nothing to an amount
  is **new**, up is **expansion**, down (not to nothing) is **contraction**, to nothing is
  **churn**; a subscription that moves to another currency churns in one and is new in the
  other. A month's movements are the sum of its days'; MRR at the end of a month is MRR at the
  end of the month before plus new and expansion, less contraction and churn.
- **Trial-to-paid**: of the free trials that ended in the last 90 days (at their end, or when
  they were canceled before it), the share whose subscription went on after the trial: active
  or past due now, or canceled later than the trial's end. A trial that ended without a card
  (paused, or canceled at its end) did not convert.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from accounts.billing.movement_kinds import MovementKind
from accounts.billing.state import LIVE_STATUSES, BillingState
from pricing.price_maths import (
    CouponTerms,
    PriceTerms,
    discount_amount,
    price_terms_from_stripe,
    price_total,
)

logger = logging.getLogger(__name__)

# The statuses whose subscriptions count toward MRR: the live ones but trials.
COUNTED_STATUSES = LIVE_STATUSES - {"trialing"}
MONTHS_PER_YEAR = 12
# How many billing periods of each interval a year has.
PERIODS_PER_YEAR = {"day": 365, "week": 52, "month": 12, "year": 1}
# Trials that ended this long ago or less count toward the trial-to-paid rate.
TRIAL_WINDOW = timedelta(days=90)


def round_half_up(value: Fraction) -> int:
    """`value` to the nearest whole number, halves away from zero (as Stripe rounds)."""
    whole = (abs(value.numerator) * 2 + value.denominator) // (value.denominator * 2)
    return whole if value >= 0 else -whole


# --- One subscription -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RevenueItem:
    """One subscription item: its price's terms (with tiers, for a tiered price) and quantity."""

    terms: PriceTerms
    quantity: int
    product_id: str | None = None

    @property
    def metered(self) -> bool:
        """A usage-based price bills what was used, not a recurring amount."""
        return self.terms.is_metered


@dataclass(frozen=True)
class RevenueDiscount:
    """The discount on a subscription: its coupon, and when it started and ends (a `repeating`
    coupon's end; None for `once` and `forever`)."""

    coupon: CouponTerms
    start: datetime | None = None
    end: datetime | None = None

    def in_force(self, *, at: datetime) -> bool:
        """Whether it takes something off every invoice at `at` (a `once` coupon never does)."""
        if self.coupon.duration == "once":
            return False
        if self.start is not None and at < self.start:
            return False
        return self.end is None or at < self.end


@dataclass(frozen=True)
class RevenueSubscription:
    """What MRR needs of a subscription, as plain values."""

    id: str
    status: str
    items: tuple[RevenueItem, ...] = ()
    discount: RevenueDiscount | None = None
    # When a subscription set to cancel (at its period's end, or at a date) stops.
    ends_at: datetime | None = None
    # The product of the item that bills the plan: MRR by plan counts the whole subscription
    # under it.
    plan_id: str | None = None
    trial_start: datetime | None = None
    trial_end: datetime | None = None
    ended_at: datetime | None = None

    @property
    def currency(self) -> str:
        return self.items[0].terms.currency if self.items else "usd"

    @property
    def interval(self) -> str:
        return (self.items[0].terms.interval if self.items else None) or "month"

    @property
    def interval_count(self) -> int:
        return self.items[0].terms.interval_count if self.items else 1


def revenue_subscription(
    *, state: BillingState, prices: Mapping[str, Mapping[str, Any]]
) -> RevenueSubscription:
    """The subscription's billing state as MRR reads it; `prices`: stored tiered prices by id
    (`tiered_prices`). An item on a tiered price whose tiers are not stored is left out, with
    a warning: it cannot be priced until `bootstrap_subscriptions` syncs the price."""
    items = []
    for item in state.items:
        price: Mapping[str, Any] = item.price
        if price.get("billing_scheme") == "tiered" and not price.get("tiers"):
            price = prices.get(item.price_id or "", price)
        terms = price_terms_from_stripe(data=price)
        if terms.is_tiered and not terms.tiers and not terms.is_metered:
            logger.warning(
                "Subscription %s: price %s is tiered but its tiers are not stored; its item "
                "is left out of MRR (run bootstrap_subscriptions)",
                state.subscription_id,
                item.price_id,
            )
            continue
        items.append(RevenueItem(terms=terms, quantity=item.quantity, product_id=item.product_id))
    discount = state.discount
    return RevenueSubscription(
        id=state.subscription_id or "",
        status=state.status or "incomplete",
        items=tuple(items),
        discount=(
            RevenueDiscount(coupon=discount.coupon, start=discount.start, end=discount.end)
            if discount is not None and discount.coupon is not None
            else None
        ),
        ends_at=state.ends_at,
        plan_id=state.product_id,
        trial_start=state.trial_start,
        trial_end=state.trial_end,
        ended_at=state.ended_at,
    )


def period_amount(*, subscription: RevenueSubscription, at: datetime) -> int:
    """What one billing period of the subscription comes to, with the discount in force at
    `at`: each recurring item at its quantity, less a percent off taken from each line it
    applies to (rounded line by line) or an amount off taken once from the lines it applies
    to."""
    lines = [
        (item, price_total(terms=item.terms, quantity=item.quantity))
        for item in subscription.items
        if not item.metered
    ]
    total = sum(amount for _, amount in lines)
    discount = subscription.discount
    if discount is None or not discount.in_force(at=at):
        return total
    coupon, currency = discount.coupon, subscription.currency
    discounted = [amount for item, amount in lines if coupon.applies_to(product_id=item.product_id)]
    if coupon.percent_off is not None:
        off = sum(
            discount_amount(total=amount, currency=currency, coupon=coupon) for amount in discounted
        )
    else:
        off = discount_amount(total=sum(discounted), currency=currency, coupon=coupon)
    return total - off


def monthly_amount(*, amount: int, interval: str, interval_count: int = 1) -> int:
    """`amount`, billed every `interval_count` `interval`s, as a monthly amount rounded half up:
    a year / 12, 3 months / 3, a week x 52 / 12, a day x 365 / 12."""
    if interval not in PERIODS_PER_YEAR:
        raise ValueError(f"unknown billing interval {interval!r}")
    if interval_count < 1:
        raise ValueError(f"interval_count must be at least 1, not {interval_count}")
    per_year = Fraction(PERIODS_PER_YEAR[interval], interval_count)
    return round_half_up(Fraction(amount) * per_year / MONTHS_PER_YEAR)


def counts_toward_mrr(*, subscription: RevenueSubscription, at: datetime) -> bool:
    """Active or past due, and not past the end it is set to cancel at."""
    if subscription.status not in COUNTED_STATUSES:
        return False
    return subscription.ends_at is None or at < subscription.ends_at


def subscription_mrr(*, subscription: RevenueSubscription, at: datetime) -> int:
    """The subscription's MRR at `at`, in its currency's minor unit (0 when it does not count)."""
    if not counts_toward_mrr(subscription=subscription, at=at):
        return 0
    return monthly_amount(
        amount=period_amount(subscription=subscription, at=at),
        interval=subscription.interval,
        interval_count=subscription.interval_count,
    )


# --- Many subscriptions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionRevenue:
    """One subscription's figures at a moment: what snapshots keep and compare."""

    subscription_id: str
    currency: str
    mrr: int
    status: str
    plan_id: str | None = None


def subscription_revenue(*, subscription: RevenueSubscription, at: datetime) -> SubscriptionRevenue:
    return SubscriptionRevenue(
        subscription_id=subscription.id,
        currency=subscription.currency,
        mrr=subscription_mrr(subscription=subscription, at=at),
        status=subscription.status,
        plan_id=subscription.plan_id,
    )


@dataclass
class CurrencyFigures:
    """MRR in one currency: the total, the paying subscribers and the total per plan."""

    currency: str
    mrr: int = 0
    subscribers: int = 0
    by_plan: dict[str, int] = field(default_factory=dict)

    @property
    def arr(self) -> int:
        return annual_run_rate(mrr=self.mrr)

    @property
    def arpu(self) -> int | None:
        return average_revenue_per_user(mrr=self.mrr, subscribers=self.subscribers)


# The plan key of a subscription whose plan item has no product.
NO_PLAN = ""


def mrr_figures(revenues: Iterable[SubscriptionRevenue]) -> dict[str, CurrencyFigures]:
    """MRR, paying subscribers and MRR per plan, per currency (only currencies with MRR)."""
    figures: dict[str, CurrencyFigures] = {}
    for revenue in revenues:
        if revenue.mrr <= 0:
            continue
        entry = figures.setdefault(revenue.currency, CurrencyFigures(currency=revenue.currency))
        entry.mrr += revenue.mrr
        entry.subscribers += 1
        plan = revenue.plan_id or NO_PLAN
        entry.by_plan[plan] = entry.by_plan.get(plan, 0) + revenue.mrr
    return figures


def annual_run_rate(*, mrr: int) -> int:
    """ARR: MRR x 12."""
    return mrr * MONTHS_PER_YEAR


def average_revenue_per_user(*, mrr: int, subscribers: int) -> int | None:
    """ARPU: MRR / paying subscribers, rounded half up; None without subscribers."""
    if subscribers <= 0:
        return None
    return round_half_up(Fraction(mrr, subscribers))


# --- Movements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """A change of one subscription's MRR between two snapshots, in one currency; `amount` is
    how much it moved (always positive), `before` and `after` its MRR on each side."""

    subscription_id: str
    kind: MovementKind
    currency: str
    amount: int
    before: int
    after: int


# A subscription's MRR in a snapshot: (currency, amount).
Valued = tuple[str, int]


def _movement(subscription_id: str, currency: str, before: int, after: int) -> Movement | None:
    if before == after:
        return None
    if before == 0:
        kind = MovementKind.NEW
    elif after == 0:
        kind = MovementKind.CHURN
    elif after > before:
        kind = MovementKind.EXPANSION
    else:
        kind = MovementKind.CONTRACTION
    return Movement(subscription_id, kind, currency, abs(after - before), before, after)


def mrr_movements(*, before: Mapping[str, Valued], after: Mapping[str, Valued]) -> list[Movement]:
    """Each subscription's movement from one snapshot to the next (by subscription id; a
    subscription missing from a side has no MRR there), in subscription id order."""
    movements = []
    for subscription_id in sorted(set(before) | set(after)):
        old_currency, old = before.get(subscription_id, ("", 0))
        new_currency, new = after.get(subscription_id, ("", 0))
        if old and new and old_currency != new_currency:
            changes = [(old_currency, old, 0), (new_currency, 0, new)]
        else:
            changes = [(new_currency if new else old_currency, old, new)]
        for currency, was, now in changes:
            movement = _movement(subscription_id, currency, was, now)
            if movement is not None:
                movements.append(movement)
    return movements


@dataclass
class MovementTotals:
    """One currency's new, expansion, contraction and churned MRR (each positive)."""

    new: int = 0
    expansion: int = 0
    contraction: int = 0
    churn: int = 0

    @property
    def net(self) -> int:
        """What MRR moved by: new + expansion - contraction - churn."""
        return self.new + self.expansion - self.contraction - self.churn

    def add(self, other: MovementTotals) -> None:
        self.new += other.new
        self.expansion += other.expansion
        self.contraction += other.contraction
        self.churn += other.churn


def movement_totals(movements: Iterable[Movement]) -> dict[str, MovementTotals]:
    """The movements summed per currency and kind."""
    totals: dict[str, MovementTotals] = {}
    for movement in movements:
        entry = totals.setdefault(movement.currency, MovementTotals())
        setattr(entry, movement.kind.value, getattr(entry, movement.kind.value) + movement.amount)
    return totals


# --- Trials ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialOutcomes:
    """Trials running at a moment, and of those that ended in the window before it, how many
    went on after the trial."""

    running: int = 0
    ended: int = 0
    converted: int = 0

    @property
    def rate(self) -> Fraction | None:
        """converted / ended; None when no trial ended in the window."""
        return Fraction(self.converted, self.ended) if self.ended else None


def trial_outcomes(
    subscriptions: Iterable[RevenueSubscription], *, at: datetime, window: timedelta = TRIAL_WINDOW
) -> TrialOutcomes:
    """Trials running at `at`, and the trial-to-paid count of those that ended in `window`
    before it (see the module's definitions)."""
    running = ended = converted = 0
    for subscription in subscriptions:
        if subscription.status == "trialing":
            running += 1
            continue
        trial_end = subscription.trial_end
        if subscription.trial_start is None or trial_end is None:
            continue
        stopped = subscription.ended_at
        trial_over = min(trial_end, stopped) if stopped is not None else trial_end
        if not (at - window < trial_over <= at):
            continue
        ended += 1
        went_on = (
            subscription.status in COUNTED_STATUSES
            if stopped is None
            else subscription.status == "canceled" and stopped > trial_end
        )
        converted += went_on
    return TrialOutcomes(running=running, ended=ended, converted=converted)
