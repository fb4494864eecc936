"""Metered usage: what a meter's events add up to for a customer over a stretch of time, and so
what a metered subscription item bills for a period.

A meter aggregates the events counted for it (`store.meter_readings`: matched to it and to a
customer when received, not canceled by an adjustment) by its `default_aggregation[formula]`:
`sum` adds their values, `count` counts them, `last` takes the value of the latest one. A
metered item bills, at the end of each period, the usage of its price's meter over the period
that ended (from the item's creation when it joined the period late); a negative total bills
as 0, as at Stripe.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from stripe_server.context import Context
from stripe_server.store import Reading, Session

KIND = "billing.meter"
FORMULAS = ("count", "last", "sum")


def aggregate(formula: str, readings: Sequence[Reading]) -> Decimal:
    """What `readings` (oldest first) come to by the meter's `formula`; 0 without any."""
    if formula == "count":
        return Decimal(len(readings))
    values = [Decimal(reading.value or 0) for reading in readings]
    if not values:
        return Decimal(0)
    if formula == "last":
        return values[-1]
    return sum(values, Decimal(0))


def meter_usage(
    db: Session, meter: dict[str, Any], customer_id: str, start: int, end: int
) -> Decimal:
    """The meter's aggregated value for the customer's events with a timestamp in [start, end)."""
    readings = db.meter_readings(meter["id"], customer_id, start, end)
    return aggregate(meter["default_aggregation"]["formula"], readings)


def item_usage(
    ctx: Context, subscription: dict[str, Any], item: dict[str, Any], start: int, end: int
) -> Decimal:
    """The usage a metered item bills for the period [start, end): its meter's, for the
    subscription's customer, counted from the item's creation if that came later; never
    below 0."""
    meter = ctx.db.get(item["price"]["recurring"]["meter"] or "", KIND)
    if meter is None:
        return Decimal(0)
    usage = meter_usage(ctx.db, meter, subscription["customer"], max(start, item["created"]), end)
    return max(usage, Decimal(0))


def json_number(value: Decimal) -> int | float:
    """A usage figure as JSON writes it: a whole number as an integer."""
    return int(value) if value == value.to_integral_value() else float(value)
