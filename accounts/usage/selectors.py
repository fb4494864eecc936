"""Reads of recorded usage: this period's use of each meter, against what the plan includes
and allows. Counted from Portal's own records (sent to Stripe or not yet), so what a holder
just used shows at once; never a Stripe call."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from accounts.billing.state import BillingState, billing_state
from accounts.models import SubscriptionHolder
from accounts.selectors import price_data_with_tiers
from accounts.usage.errors import UnknownMeterError
from accounts.usage.models import UsageBatch, UsageRecord
from pricing.catalog import active_meters, meter_named
from pricing.metadata import MeterMetadata, UsageLimit
from pricing.models import Meter
from pricing.price_maths import PriceTerms, metered_terms_describe, price_terms_from_stripe


@dataclass(frozen=True)
class UsagePeriod:
    start: datetime
    end: datetime
    # Months in it: a yearly plan's limits are twelve times its monthly ones.
    months: int


def usage_period(*, state: BillingState, now: datetime | None = None) -> UsagePeriod:
    """The period usage is counted in: the subscription's current one, else this month."""
    if state.is_live and state.period_start and state.period_end:
        months = 12 if state.plan_item and state.plan_item.interval == "year" else 1
        return UsagePeriod(state.period_start, state.period_end, months)
    now = now or timezone.now()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = calendar.monthrange(start.year, start.month)[1]
    return UsagePeriod(start, start + timedelta(days=days), 1)


@dataclass(frozen=True)
class MeterUsage:
    """One meter's use this period, for the status page and the gates."""

    meter: MeterMetadata
    used: Decimal
    period: UsagePeriod
    # The metered price the subscription bills it with (None: it is not billed).
    terms: PriceTerms | None
    limit: UsageLimit | None

    @property
    def included(self) -> int:
        return self.terms.included_quantity if self.terms is not None else 0

    @property
    def billable(self) -> Decimal:
        """What is billed beyond what the plan includes."""
        return max(Decimal(0), self.used - self.included)

    @property
    def period_limit(self) -> int | None:
        return self.limit.quantity * self.period.months if self.limit is not None else None

    @property
    def at_hard_limit(self) -> bool:
        return (
            self.limit is not None
            and self.limit.hard
            and self.period_limit is not None
            and self.used >= self.period_limit
        )

    @property
    def over_soft_limit(self) -> bool:
        return (
            self.limit is not None
            and not self.limit.hard
            and self.period_limit is not None
            and self.used >= self.period_limit
        )

    @property
    def bar_percent(self) -> int:
        """How full the meter's bar is: of the limit, else of what is included."""
        scale = self.period_limit or self.included
        if not scale:
            return 100 if self.used else 0
        return min(100, int(self.used * 100 / scale))

    @property
    def used_text(self) -> str:
        return self.meter.units(_whole(self.used))

    @property
    def numbers(self) -> dict[str, str]:
        """Used, included, billable and the period's limit, as the page writes them."""
        return {
            "used": f"{_whole(self.used):,}",
            "included": f"{self.included:,}",
            "billable": f"{_whole(self.billable):,}",
            "limit": f"{self.period_limit:,}" if self.period_limit is not None else "",
        }

    @property
    def rate_text(self) -> str | None:
        """ "10,000 API calls included, then $0.002 per API call"."""
        if self.terms is None:
            return None
        return metered_terms_describe(
            terms=self.terms, unit=self.meter.unit, unit_plural=self.meter.unit_plural
        )

    @property
    def limit_message(self) -> str | None:
        """The gate's words once a hard limit is reached."""
        if not self.at_hard_limit or self.period_limit is None:
            return None
        span = "this year" if self.period.months == 12 else "this month"
        if self.period_limit == 0:
            return f"Your plan does not include {self.meter.unit_plural} — upgrade to use them."
        return (
            f"You have used {_whole(self.used):,} of {self.meter.units(self.period_limit)} "
            f"{span} — upgrade for more"
        )


def _whole(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _metered_terms(state: BillingState) -> dict[str, PriceTerms]:
    """The terms of the subscription's metered prices, by the event name of their meter."""
    items = state.metered_items if state.is_live else ()
    if not items:
        return {}
    event_names = dict(
        Meter.objects.filter(stripe_id__in=[item.meter_id for item in items]).values_list(
            "stripe_id", "event_name"
        )
    )
    return {
        event_names[item.meter_id]: price_terms_from_stripe(data=price_data_with_tiers(item.price))
        for item in items
        if item.meter_id in event_names
    }


def usage_this_period(
    *, holder: SubscriptionHolder, state: BillingState | None = None
) -> list[MeterUsage]:
    """Each meter's use by the holder this period, with what the plan includes and allows:
    the meters its subscription bills or its plan limits (none: no query)."""
    state = state if state is not None else billing_state(holder=holder)
    terms = _metered_terms(state)
    limits = state.plan.usage_limits if state.plan is not None else {}
    if not terms and not limits:
        # Nothing billed or limited: no query.
        return []
    period = usage_period(state=state)
    used: dict[str, Decimal] = {}
    if holder.customer_id is not None:
        used = dict(
            UsageRecord.objects.filter(
                customer_id=holder.customer_id,
                recorded_at__gte=period.start,
                recorded_at__lt=period.end,
            )
            .values("meter")
            .annotate(total=Sum("value"))
            .values_list("meter", "total")
        )
    return [
        MeterUsage(
            meter=meter,
            used=used.get(meter.slug, Decimal(0)),
            period=period,
            terms=terms.get(meter.event_name),
            limit=limits.get(meter.slug),
        )
        for meter in active_meters()
        if meter.event_name in terms or meter.slug in limits
    ]


def meter_usage(*, holder: SubscriptionHolder, meter: str) -> MeterUsage:
    """One meter's use this period; `UnknownMeterError` for a meter Portal does not know."""
    if meter_named(meter) is None:
        raise UnknownMeterError(f"No meter is named {meter!r} in pricing.metadata.ACTIVE_METERS.")
    found = next(
        (usage for usage in usage_this_period(holder=holder) if usage.meter.slug == meter), None
    )
    if found is None:
        return MeterUsage(
            meter=meter_named(meter),  # type: ignore[arg-type]
            used=Decimal(0),
            period=usage_period(state=billing_state(holder=holder)),
            terms=None,
            limit=None,
        )
    return found


def usage_within_limit(
    *, holder: SubscriptionHolder, meter: str, value: int | float | Decimal = 1
) -> bool:
    """Whether the holder may use `value` more of `meter` this period: True unless its plan
    sets a hard limit (`ProductMetadata.usage_limits`) that it would go past. Soft limits
    only warn, on the status page."""
    usage = meter_usage(holder=holder, meter=meter)
    if usage.limit is None or not usage.limit.hard or usage.period_limit is None:
        return True
    return usage.used + Decimal(str(value)) <= usage.period_limit


# --- For the staff's billing dashboard ----------------------------------------------------------


@dataclass(frozen=True)
class MeterOverview:
    """One meter across every holder: recorded since a moment, and what still waits."""

    meter: MeterMetadata
    used: Decimal
    holders: int
    # Records no flush has sent yet, and batches Stripe refused for good.
    pending: int
    refused: int

    @property
    def used_text(self) -> str:
        return self.meter.units(_whole(self.used))


def usage_overview(*, since: datetime) -> list[MeterOverview]:
    """Each meter's use by all holders since `since` (the dashboard: this month), how many
    holders used it, and what waits to be sent or was refused; three queries."""
    recorded = {
        row["meter"]: row
        for row in UsageRecord.objects.filter(recorded_at__gte=since)
        .values("meter")
        .annotate(total=Sum("value"), holders=Count("customer_id", distinct=True))
    }
    pending = dict(
        UsageRecord.objects.filter(batch__isnull=True)
        .values("meter")
        .annotate(count=Count("pk"))
        .values_list("meter", "count")
    )
    refused = dict(
        UsageBatch.objects.exclude(error="")
        .values("meter")
        .annotate(count=Count("pk"))
        .values_list("meter", "count")
    )
    return [
        MeterOverview(
            meter=meter,
            used=(recorded.get(meter.slug) or {}).get("total") or Decimal(0),
            holders=(recorded.get(meter.slug) or {}).get("holders") or 0,
            pending=pending.get(meter.slug, 0),
            refused=refused.get(meter.slug, 0),
        )
        for meter in active_meters()
    ]
