"""The subscriptions the billing metrics count, as `accounts.billing.revenue_maths` inputs:
read from dj-stripe's rows through `accounts.billing.state` (the one reader of a subscription)
now, and through time from the stored webhook events (for `billing_snapshot --backfill`).

Stripe leaves `tiers` out of the prices a subscription embeds, so tiered prices are read from
dj-stripe's price rows (one query). No Stripe calls.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from djstripe.models import Coupon, Discount, Subscription

from accounts.billing.revenue_maths import RevenueSubscription, revenue_subscription
from accounts.billing.state import (
    billing_state_from_row,
    billing_state_from_subscription,
    stripe_timestamp,
    subscriptions_with_billing_data,
)
from accounts.selectors import tiered_prices
from accounts.webhooks.models import WebhookEvent

# The events whose object is the subscription as it was then.
SUBSCRIPTION_EVENTS_PREFIX = "customer.subscription."


def _rows() -> Iterator[Subscription]:
    return subscriptions_with_billing_data().order_by("pk").iterator(chunk_size=500)


def current_subscriptions() -> list[RevenueSubscription]:
    """Every stored subscription, as its row says it is now (two queries)."""
    prices = tiered_prices()
    return [
        revenue_subscription(state=billing_state_from_row(row), prices=prices) for row in _rows()
    ]


# --- Through time -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionHistory:
    """One subscription through time: the subscription each stored event sent (from the
    event's creation on), and before its first event, or without any, its row read by its
    dates (it started at `started`, was trialing between its trial's start and end, and was
    canceled from `ended_at`; otherwise it had its row's status, or was active before it
    ended). Rows alone do not say when a subscription was past due or changed plan: events do.
    """

    subscription_id: str
    row: RevenueSubscription | None = None
    started: datetime | None = None
    # (when Stripe created the event, the subscription it sent), oldest first.
    events: tuple[tuple[datetime, RevenueSubscription], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_moments", [created for created, _ in self.events])

    def at(self, moment: datetime) -> RevenueSubscription | None:
        """The subscription as it was at `moment`; None before it existed."""
        position = bisect.bisect_right(self._moments, moment)  # type: ignore[attr-defined]
        if position:
            return self.events[position - 1][1]
        return self._row_at(moment)

    def _row_at(self, moment: datetime) -> RevenueSubscription | None:
        row = self.row
        if row is None or self.started is None or moment < self.started:
            return None
        status = row.status
        trial = row.trial_start is not None and row.trial_end is not None
        if row.ended_at is not None and moment >= row.ended_at:
            status = status if status == "incomplete_expired" else "canceled"
        elif trial and row.trial_start <= moment < row.trial_end:  # type: ignore[operator]
            status = "trialing"
        elif status == "canceled":
            # Before it ended, a canceled subscription was billed.
            status = "active"
        return dataclasses.replace(row, status=status)

    def change_points(self) -> set[datetime]:
        """The moments the subscription's MRR or status may change at; constant in between."""
        points: set[datetime] = {created for created, _ in self.events}
        states = [state for _, state in self.events]
        if self.row is not None and self.started is not None:
            points.add(self.started)
            states.append(self.row)
        for state in states:
            moments = [state.trial_start, state.trial_end, state.ended_at, state.ends_at]
            if state.discount is not None:
                moments += [state.discount.start, state.discount.end]
            points.update(moment for moment in moments if moment is not None)
        return points


def _row_started(row: Subscription) -> datetime | None:
    return stripe_timestamp((row.stripe_data or {}).get("start_date")) or row.created


def _event_subscriptions(
    prices: Mapping[str, Mapping[str, Any]],
) -> Iterator[tuple[str, datetime, RevenueSubscription]]:
    """(subscription id, event created, subscription) of every stored subscription event."""
    discounts = dict(Discount.objects.values_list("id", "stripe_data"))
    coupons = dict(Coupon.objects.values_list("id", "stripe_data"))
    events = (
        WebhookEvent.objects.filter(type__startswith=SUBSCRIPTION_EVENTS_PREFIX)
        .order_by("stripe_created", "pk")
        .values_list("stripe_created", "payload")
        .iterator(chunk_size=500)
    )
    for created, payload in events:
        data = (payload.get("data") or {}).get("object") or {}
        if data.get("object") != "subscription" or not data.get("id"):
            continue
        discount = _first_discount(data, discounts)
        state = billing_state_from_subscription(
            subscription=Subscription(id=data["id"], stripe_data=data),
            discount=discount,
            coupon=_coupon_of(discount, coupons),
        )
        yield data["id"], created, revenue_subscription(state=state, prices=prices)


def _first_discount(
    data: Mapping[str, Any], discounts: Mapping[str, dict[str, Any]]
) -> dict[str, Any] | None:
    listed = data.get("discounts") or []
    if not listed:
        return None
    first = listed[0]
    if isinstance(first, Mapping):
        return dict(first)
    return discounts.get(first)


def _coupon_of(
    discount: Mapping[str, Any] | None, coupons: Mapping[str, dict[str, Any]]
) -> dict[str, Any] | None:
    if discount is None:
        return None
    coupon = (discount.get("source") or {}).get("coupon") or discount.get("coupon")
    if isinstance(coupon, Mapping):
        return dict(coupon)
    return coupons.get(coupon) if coupon else None


def subscription_histories() -> list[SubscriptionHistory]:
    """Every subscription there is a row or a stored event of, through time."""
    prices = tiered_prices()
    rows: dict[str, tuple[RevenueSubscription, datetime | None]] = {}
    for row in _rows():
        state = billing_state_from_row(row)
        rows[row.id] = (revenue_subscription(state=state, prices=prices), _row_started(row))
    events: dict[str, list[tuple[datetime, RevenueSubscription]]] = {}
    for subscription_id, created, subscription in _event_subscriptions(prices):
        events.setdefault(subscription_id, []).append((created, subscription))
    histories = []
    for subscription_id in sorted(set(rows) | set(events)):
        row, started = rows.get(subscription_id, (None, None))
        histories.append(
            SubscriptionHistory(
                subscription_id=subscription_id,
                row=row,
                started=started,
                events=tuple(events.get(subscription_id, ())),
            )
        )
    return histories


def subscriptions_at(
    histories: Iterable[SubscriptionHistory], *, moment: datetime
) -> list[RevenueSubscription]:
    """Every subscription as it was at `moment` (those that existed)."""
    found = (history.at(moment) for history in histories)
    return [subscription for subscription in found if subscription is not None]
