"""What the billing dashboard (`/admin/billing/`) shows, read from the database only: the latest
snapshot (today's MRR, ARR, paying subscribers, ARPU, MRR by plan, trials), the last 12 months
of snapshots (MRR at each month's end and each month's movements), the past-due subscriptions
with their failed invoices, and the webhook pipeline's health. A fixed number of queries,
whatever the number of subscriptions, snapshots or events; never Stripe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fractions import Fraction

from django.utils import timezone
from djstripe.models import Invoice, Subscription

from accounts.billing.revenue_maths import (
    NO_PLAN,
    MovementTotals,
    annual_run_rate,
    average_revenue_per_user,
    round_half_up,
)
from accounts.billing.state import billing_state_from_row, subscriptions_with_billing_data
from accounts.metrics.models import BillingSnapshot, MrrSnapshot
from accounts.models import SubscriptionHolder
from accounts.selectors import Money, holders_by_customer, plan_names
from accounts.usage.selectors import MeterOverview, usage_overview
from accounts.webhooks.selectors import WebhookHealth, webhook_health

# The months the history shows, the current one included.
HISTORY_MONTHS = 12
# The past-due subscriptions listed (the oldest first); the count says how many there are.
PAST_DUE_LISTED = 50
# The currency of the empty charts shown before there is any snapshot.
EMPTY_HISTORY_CURRENCY = "usd"


def month_start(day: date) -> date:
    return day.replace(day=1)


def months_back(month: date, count: int) -> date:
    """The first day of the month `count` months before `month`'s."""
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


# --- Today --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanShare:
    name: str
    mrr: Money
    # Of the currency's MRR, in whole percent (rounded half up).
    percent: int


@dataclass(frozen=True)
class CurrencyToday:
    """One currency's figures in the latest snapshot."""

    currency: str
    mrr: Money
    arr: Money
    subscribers: int
    arpu: Money | None
    plans: list[PlanShare]


@dataclass(frozen=True)
class TrialFigures:
    running: int
    ended: int
    converted: int

    @property
    def rate_percent(self) -> int | None:
        """Trial-to-paid, in whole percent (half up); None when no trial ended."""
        if not self.ended:
            return None
        return round_half_up(Fraction(self.converted * 100, self.ended))


# --- History ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonthFigures:
    """One month of one currency: MRR at the end of its last snapshot (None without any), and
    the sum of its days' movements."""

    month: date
    mrr: int | None
    movements: MovementTotals = field(default_factory=MovementTotals)

    @property
    def label(self) -> str:
        return f"{self.month:%b %Y}"


@dataclass(frozen=True)
class CurrencyHistory:
    currency: str
    # The last `HISTORY_MONTHS` months, oldest first.
    months: list[MonthFigures]

    @property
    def has_data(self) -> bool:
        return any(month.mrr is not None for month in self.months)


# --- Dunning ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailedInvoice:
    id: str
    number: str
    amount_due: Money
    attempts: int
    next_attempt: datetime | None
    url: str | None


@dataclass(frozen=True)
class PastDueSubscription:
    pk: int
    id: str
    holder: SubscriptionHolder | None
    customer_email: str
    plan: str
    # When the unpaid period started.
    since: datetime | None
    invoices: list[FailedInvoice]

    @property
    def next_attempt(self) -> datetime | None:
        """The earliest next retry among its failed invoices."""
        attempts = [i.next_attempt for i in self.invoices if i.next_attempt is not None]
        return min(attempts) if attempts else None


@dataclass(frozen=True)
class PastDue:
    count: int
    subscriptions: list[PastDueSubscription]


# --- The dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillingDashboard:
    snapshot: BillingSnapshot | None
    today: list[CurrencyToday]
    history: list[CurrencyHistory]
    trials: TrialFigures | None
    past_due: PastDue
    webhooks: WebhookHealth
    months: list[date]
    # Each meter's use this month (empty without usage billing).
    usage: list[MeterOverview] = field(default_factory=list)


def _snapshot_rows(*, first_month: date) -> list[MrrSnapshot]:
    return list(
        MrrSnapshot.objects.filter(snapshot__date__gte=first_month)
        .select_related("snapshot")
        .order_by("snapshot__date", "currency")
    )


def _history(rows: Iterable[MrrSnapshot], months: list[date]) -> list[CurrencyHistory]:
    """Per currency: each month's MRR at its last snapshot, and its movements summed."""
    ends: dict[tuple[str, date], tuple[date, int]] = {}
    moved: dict[tuple[str, date], MovementTotals] = {}
    currencies: set[str] = set()
    for row in rows:
        month = month_start(row.snapshot.date)
        key = (row.currency, month)
        currencies.add(row.currency)
        if key not in ends or ends[key][0] <= row.snapshot.date:
            ends[key] = (row.snapshot.date, row.mrr)
        moved.setdefault(key, MovementTotals()).add(
            MovementTotals(
                new=row.new, expansion=row.expansion, contraction=row.contraction, churn=row.churn
            )
        )
    return [
        CurrencyHistory(
            currency=currency,
            months=[
                MonthFigures(
                    month=month,
                    mrr=ends[(currency, month)][1] if (currency, month) in ends else None,
                    movements=moved.get((currency, month), MovementTotals()),
                )
                for month in months
            ],
        )
        for currency in sorted(currencies)
    ]


def _today(
    snapshot: BillingSnapshot | None, rows: Iterable[MrrSnapshot], names: dict[str, str]
) -> list[CurrencyToday]:
    if snapshot is None:
        return []
    today = []
    for row in rows:
        if row.snapshot_id != snapshot.pk or (row.mrr == 0 and row.subscribers == 0):
            continue
        arpu = average_revenue_per_user(mrr=row.mrr, subscribers=row.subscribers)
        plans = sorted(row.by_plan.items(), key=lambda entry: (-entry[1], entry[0]))
        today.append(
            CurrencyToday(
                currency=row.currency,
                mrr=Money(row.mrr, row.currency),
                arr=Money(annual_run_rate(mrr=row.mrr), row.currency),
                subscribers=row.subscribers,
                arpu=Money(arpu, row.currency) if arpu is not None else None,
                plans=[
                    PlanShare(
                        name=names.get(plan, "No plan") if plan != NO_PLAN else "No plan",
                        mrr=Money(amount, row.currency),
                        percent=round_half_up(Fraction(amount * 100, row.mrr)) if row.mrr else 0,
                    )
                    for plan, amount in plans
                ],
            )
        )
    return today


def _invoice_subscription_id(data: dict) -> str | None:
    parent = (data.get("parent") or {}).get("subscription_details") or {}
    found = parent.get("subscription") or data.get("subscription")
    if isinstance(found, dict):
        found = found.get("id")
    return found or None


def past_due_subscriptions(*, limit: int = PAST_DUE_LISTED) -> PastDue:
    """The past-due subscriptions (the oldest first, at most `limit`), each with its holder,
    its plan and its open invoices (the failed ones, with their attempts and next retry), and
    how many there are. At most six queries, whatever their number."""
    # One pass over the subscriptions finds them all (how many, and the oldest); only the
    # listed ones are read with their billing data, by primary key.
    found = list(
        Subscription.objects.filter(stripe_data__status="past_due")
        .order_by("created", "pk")
        .values_list("pk", flat=True)
    )
    listed_pks = found[:limit]
    rows = sorted(
        subscriptions_with_billing_data().filter(pk__in=listed_pks),
        key=lambda row: listed_pks.index(row.pk),
    )
    customer_ids = [row.customer_id for row in rows]
    holders = holders_by_customer(customer_ids=customer_ids)
    invoices: dict[str, list[Invoice]] = {}
    for invoice in Invoice.objects.filter(
        customer_id__in=customer_ids, stripe_data__status="open"
    ).order_by("created", "pk"):
        invoices.setdefault(invoice.customer_id, []).append(invoice)
    states = {row.id: billing_state_from_row(row) for row in rows}
    names = plan_names(product_ids={state.product_id or "" for state in states.values()})
    listed = []
    for row in rows:
        state = states[row.id]
        failed = [
            _failed_invoice(invoice)
            for invoice in invoices.get(row.customer_id, [])
            if _invoice_subscription_id(invoice.stripe_data) in (row.id, None)
        ]
        listed.append(
            PastDueSubscription(
                pk=row.pk,
                id=row.id,
                holder=holders.get(row.customer_id),
                customer_email=row.customer.email if row.customer else "",
                plan=names.get(state.product_id or "", "—"),
                since=state.period_start,
                invoices=failed,
            )
        )
    return PastDue(count=len(found), subscriptions=listed)


def _failed_invoice(invoice: Invoice) -> FailedInvoice:
    data = invoice.stripe_data
    next_attempt = data.get("next_payment_attempt")
    return FailedInvoice(
        id=invoice.id,
        number=data.get("number") or invoice.id,
        amount_due=Money(int(data.get("amount_due") or 0), data.get("currency") or "usd"),
        attempts=int(data.get("attempt_count") or 0),
        next_attempt=(datetime.fromtimestamp(int(next_attempt), tz=UTC) if next_attempt else None),
        url=data.get("hosted_invoice_url"),
    )


def billing_dashboard(*, now: datetime | None = None) -> BillingDashboard:
    """Everything `/admin/billing/` shows, in a fixed number of queries."""
    now = now or timezone.now()
    this_month = month_start(timezone.localdate(now))
    months = [months_back(this_month, back) for back in range(HISTORY_MONTHS - 1, -1, -1)]
    snapshot = BillingSnapshot.objects.order_by("-date").first()
    rows = _snapshot_rows(first_month=months[0])
    if snapshot is not None and snapshot.date < months[0]:
        rows += list(snapshot.currencies.all())
    latest = [row for row in rows if snapshot is not None and row.snapshot_id == snapshot.pk]
    names = plan_names(product_ids={plan for row in latest for plan in row.by_plan})
    trials = None
    if snapshot is not None and (snapshot.trials_running or snapshot.trials_ended):
        trials = TrialFigures(
            running=snapshot.trials_running,
            ended=snapshot.trials_ended,
            converted=snapshot.trials_converted,
        )
    # The currency with the most paying subscribers first (the business's own, usually).
    today = sorted(_today(snapshot, latest, names), key=lambda c: (-c.subscribers, c.currency))
    order = {figures.currency: position for position, figures in enumerate(today)}
    history = sorted(
        _history([row for row in rows if row.snapshot.date >= months[0]], months),
        key=lambda entry: (order.get(entry.currency, len(order)), entry.currency),
    )
    return BillingDashboard(
        snapshot=snapshot,
        today=today,
        history=history
        or [CurrencyHistory(EMPTY_HISTORY_CURRENCY, [MonthFigures(m, None) for m in months])],
        trials=trials,
        past_due=past_due_subscriptions(),
        webhooks=webhook_health(now=now),
        months=months,
        usage=usage_overview(since=_month_start_at(this_month)),
    )


def _month_start_at(month: date) -> datetime:
    """The first moment of a month, in the site's time zone."""
    return timezone.make_aware(datetime.combine(month, datetime.min.time()))
