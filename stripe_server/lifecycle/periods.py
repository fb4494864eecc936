"""A subscription's billing periods: where each one ends, counted from the cycle's anchor."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def months_after(timestamp: int, months: int) -> int:
    """The same day and time `months` calendar months after `timestamp` (month ends clamp)."""
    return int(_add_months(dt.datetime.fromtimestamp(timestamp, tz=dt.UTC), months).timestamp())


def period_end(anchor: int, recurring: dict[str, Any], periods: int) -> int:
    """End of the `periods`-th period counted from `anchor` (month ends clamp, like Stripe)."""
    start = dt.datetime.fromtimestamp(anchor, tz=dt.UTC)
    count = recurring["interval_count"] * periods
    interval = recurring["interval"]
    if interval == "day":
        end = start + dt.timedelta(days=count)
    elif interval == "week":
        end = start + dt.timedelta(weeks=count)
    elif interval == "month":
        end = _add_months(start, count)
    else:
        end = _add_months(start, 12 * count)
    return int(end.timestamp())


def next_period_end(subscription: dict[str, Any], start: int) -> int:
    """The end of the period that starts at `start`, keeping the billing cycle anchor's day."""
    recurring = subscription["items"]["data"][0]["price"]["recurring"]
    anchor = subscription["billing_cycle_anchor"]
    periods = 1
    while True:
        end = period_end(anchor, recurring, periods)
        if end > start:
            return end
        periods += 1


def period_holding(subscription: dict[str, Any], moment: int) -> tuple[int, int]:
    """The start and end of the period of the subscription's cycle (counted from its billing
    cycle anchor) that holds `moment`."""
    recurring = subscription["items"]["data"][0]["price"]["recurring"]
    anchor = subscription["billing_cycle_anchor"]
    start, periods = anchor, 1
    while True:
        end = period_end(anchor, recurring, periods)
        if end > moment:
            return start, end
        start, periods = end, periods + 1
