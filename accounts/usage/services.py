"""Recording usage, and sending it to Stripe's meters exactly once.

`usage_record` is one insert: the usage is durable when it returns, and Stripe is not called.
`usage_flush` sends it on, in three steps, each safe to repeat or to interrupt:

1. Pending records are summed per holder, meter and minute (the window) into batches. A batch
   is created and its records claimed in one transaction; a record joins one batch only, however
   many flushes run at once.
2. Each batch gets an `identifier` when it is created, and is sent as one meter event under
   it. Stripe refuses an identifier it has seen in the last 24 hours, so a batch sent again (a
   retry, a second worker, a crash between Stripe's answer and ours) is counted once: that
   refusal marks it sent.
3. Stripe unreachable: the flush stops, and the batches wait for the next one. Stripe refusing a
   batch for good (a deleted customer, a timestamp older than 35 days) marks that batch failed,
   with Stripe's reason, and the flush goes on with the others.

Usage of a holder whose subscription has no metered price on that meter is not sent (Stripe
would count it and bill it to nobody): it stays pending, and every flush reports it.

Without a broker (`make run`) a flush runs in a thread a few seconds after usage is recorded;
with one, beat runs the `accounts.usage_flush` task (see `CELERY_BEAT_SCHEDULE`).
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import connections, router, transaction
from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncMinute
from django.utils import timezone
from djstripe.models import Customer, Subscription

from accounts.billing.state import LIVE_STATUSES, BillingState, stripe_timestamp
from accounts.models import SubscriptionHolder
from accounts.usage.errors import (
    HolderWithoutCustomerError,
    InvalidUsageValueError,
    UnknownMeterError,
)
from accounts.usage.models import UsageBatch, UsageRecord
from portal.stripe_client import (
    StripeRequestError,
    StripeUnavailableError,
    stripe_client,
    stripe_json,
    translate_stripe_errors,
)
from pricing.catalog import active_meters, meter_named
from pricing.models import Meter
from pricing.price_maths import amount_format

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]

# The largest value one call may record, and the precision kept (the columns' limits).
VALUE_MAX = Decimal("1e17")
VALUE_PLACES = Decimal("0.000001")
# Without a broker, usage reaches Stripe this many seconds after it is recorded (a burst of
# calls makes one flush).
IN_PROCESS_FLUSH_DELAY_SECONDS = 2.0
# What Stripe answers for an identifier it has already counted.
_ALREADY_COUNTED = "already exists with identifier"


# --- Recording --------------------------------------------------------------------------------


def _usage_value(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidUsageValueError(f"Usage must be a number, not {value!r}.")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidUsageValueError(f"Usage must be a number, not {value!r}.") from None
    if not amount.is_finite():
        raise InvalidUsageValueError(f"Usage must be a finite number, not {value!r}.")
    if amount < 0:
        raise InvalidUsageValueError(
            f"Usage cannot be negative ({value!r}): record what was used, never take it back."
        )
    if amount >= VALUE_MAX:
        raise InvalidUsageValueError(f"Usage of {value!r} in one call is more than Portal keeps.")
    return amount.quantize(VALUE_PLACES)


def usage_record(
    *, holder: SubscriptionHolder, meter: str, value: int | float | Decimal | str = 1
) -> None:
    """Record that `holder` used `value` of `meter` now (`pricing.metadata.ACTIVE_METERS`).

    One insert, never a Stripe call: the usage is stored when this returns, and a flush sends
    it to Stripe. Raises, writing nothing, `UnknownMeterError` for a meter Portal does not know,
    `InvalidUsageValueError` for a value that is not a finite number >= 0, and
    `HolderWithoutCustomerError` for a holder with no Stripe customer yet.
    """
    if meter_named(meter) is None:
        known = ", ".join(repr(known.slug) for known in active_meters()) or "none"
        raise UnknownMeterError(
            f"No meter is named {meter!r} in pricing.metadata.ACTIVE_METERS (known: {known})."
        )
    amount = _usage_value(value)
    customer_id = holder.customer_id
    if customer_id is None:
        raise HolderWithoutCustomerError(
            f"{holder} has no Stripe customer yet: usage is recorded for subscribers."
        )
    _record_insert(customer_id=customer_id, meter=meter, value=amount)
    if _in_process():
        transaction.on_commit(usage_flush_soon)


def _record_insert(*, customer_id: int, meter: str, value: Decimal) -> None:
    """`UsageRecord.objects.create(...)` as one prepared INSERT: the ORM's model instance,
    signals and SQL compiling would cost more than the write itself."""
    connection = connections[router.db_for_write(UsageRecord)]
    ops = connection.ops
    value_field = UsageRecord._meta.get_field("value")
    params = [
        customer_id,
        meter,
        ops.adapt_decimalfield_value(value, value_field.max_digits, value_field.decimal_places),
        ops.adapt_datetimefield_value(timezone.now()),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.alias), params)


@functools.cache
def _insert_sql(alias: str) -> str:
    connection = connections[alias]
    quote = connection.ops.quote_name
    meta = UsageRecord._meta
    columns = [
        meta.get_field(name).column for name in ("customer", "meter", "value", "recorded_at")
    ]
    # Table and column names come from the model, never from input.
    return (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        "VALUES (%s, %s, %s, %s)"
    )


# --- Flushing ---------------------------------------------------------------------------------


@dataclass
class FlushReport:
    """What one `usage_flush` did."""

    batches_made: int = 0
    sent: int = 0
    already_counted: int = 0
    failed: int = 0
    # Batches left for the next flush (Stripe could not be reached).
    waiting: int = 0
    # Usage not sent: (customer id, meter) -> (records, value), for holders whose subscription
    # has no metered price on that meter.
    held: dict[tuple[str, str], tuple[int, Decimal]] = field(default_factory=dict)

    @property
    def stripe_unavailable(self) -> bool:
        return self.waiting > 0


def _billed_meters(customer_pks: set[int]) -> dict[int, set[str]]:
    """The event names each customer's live subscriptions bill usage of."""
    event_names = dict(Meter.objects.values_list("stripe_id", "event_name"))
    billed: dict[int, set[str]] = {pk: set() for pk in customer_pks}
    # dj-stripe's foreign keys hold Stripe ids; the usage tables hold the customer's pk.
    subscriptions = Subscription.objects.filter(customer__djstripe_id__in=customer_pks).values_list(
        "customer__djstripe_id", "stripe_data"
    )
    for customer_pk, data in subscriptions:
        if (data or {}).get("status") not in LIVE_STATUSES:
            continue
        for item in ((data or {}).get("items") or {}).get("data") or []:
            recurring = (item.get("price") or {}).get("recurring") or {}
            if recurring.get("usage_type") == "metered" and recurring.get("meter") in event_names:
                billed[customer_pk].add(event_names[recurring["meter"]])
    return billed


def _batches_make(report: FlushReport, progress: Progress | None) -> None:
    """Sum the pending records into batches, one per holder, meter and minute."""
    last = UsageRecord.objects.filter(batch__isnull=True).aggregate(last=Max("pk"))["last"]
    if last is None:
        return
    pending = UsageRecord.objects.filter(batch__isnull=True, pk__lte=last)
    groups = list(
        pending.annotate(window=TruncMinute("recorded_at"))
        .values("customer_id", "meter", "window")
        .annotate(records=Count("pk"), value=Sum("value"), latest=Max("recorded_at"))
        .order_by("window", "customer_id", "meter")
    )
    billed = _billed_meters({group["customer_id"] for group in groups})
    customers = dict(
        Customer.objects.filter(djstripe_id__in=billed).values_list("djstripe_id", "id")
    )
    for group in groups:
        meter = meter_named(group["meter"])
        customer_id = customers.get(group["customer_id"])
        if (
            meter is None
            or customer_id is None
            or meter.event_name not in billed.get(group["customer_id"], set())
        ):
            key = (customer_id or f"customer #{group['customer_id']}", group["meter"])
            records, value = report.held.get(key, (0, Decimal(0)))
            report.held[key] = (records + group["records"], value + group["value"])
            continue
        window = group["window"]
        with transaction.atomic():
            batch = UsageBatch.objects.create(
                customer_id=group["customer_id"],
                meter=meter.slug,
                event_name=meter.event_name,
                value=group["value"],
                timestamp=group["latest"],
                identifier=f"portal_usage_{uuid.uuid4().hex}",
            )
            claimed = UsageRecord.objects.filter(
                batch__isnull=True,
                pk__lte=last,
                customer_id=group["customer_id"],
                meter=group["meter"],
                recorded_at__gte=window,
                recorded_at__lt=window + timedelta(minutes=1),
            ).update(batch=batch)
            if not claimed:
                # Another flush took them first.
                batch.delete()
                continue
            # What this flush claimed, whatever another took in between.
            totals = UsageRecord.objects.filter(batch=batch).aggregate(
                value=Sum("value"), latest=Max("recorded_at")
            )
            UsageBatch.objects.filter(pk=batch.pk).update(
                value=totals["value"], timestamp=totals["latest"]
            )
        report.batches_made += 1
    if progress is not None and report.batches_made:
        progress(f"Made {report.batches_made} batch(es) of pending usage")


def _batch_send(batch: UsageBatch, customer_id: str) -> str:
    """Send one batch as a meter event; "sent", "already counted", or "failed" (refused for
    good). Raises `StripeUnavailableError` when Stripe cannot be reached."""
    UsageBatch.objects.filter(pk=batch.pk).update(attempts=batch.attempts + 1)
    params: dict[str, Any] = {
        "event_name": batch.event_name,
        "identifier": batch.identifier,
        "timestamp": int(batch.timestamp.timestamp()),
        "payload": {"stripe_customer_id": customer_id, "value": _wire_value(batch.value)},
    }
    try:
        with translate_stripe_errors(f"send usage batch {batch.identifier}"):
            stripe_client().v1.billing.meter_events.create(params=params)
    except StripeRequestError as error:
        if _ALREADY_COUNTED in str(error):
            UsageBatch.objects.filter(pk=batch.pk).update(sent_at=timezone.now())
            return "already counted"
        UsageBatch.objects.filter(pk=batch.pk).update(error=str(error) or "Refused by Stripe.")
        return "failed"
    UsageBatch.objects.filter(pk=batch.pk).update(sent_at=timezone.now())
    return "sent"


def _wire_value(value: Decimal) -> str:
    """The value as the meter event's payload carries it: "12", "0.5"."""
    return format(value.normalize(), "f")


def usage_flush(*, progress: Progress | None = None) -> FlushReport:
    """Send the usage recorded so far to Stripe (see the module's docstring); what it did.

    Safe to run at any time, in several processes at once, and to kill half-way.
    """
    report = FlushReport()
    _batches_make(report, progress)
    unsent = list(UsageBatch.objects.filter(sent_at__isnull=True, error="").order_by("pk"))
    customers = dict(
        Customer.objects.filter(
            djstripe_id__in={batch.customer_id for batch in unsent}
        ).values_list("djstripe_id", "id")
    )
    for position, batch in enumerate(unsent):
        customer_id = customers.get(batch.customer_id)
        if customer_id is None:
            UsageBatch.objects.filter(pk=batch.pk).update(error="The customer no longer exists.")
            report.failed += 1
            continue
        try:
            outcome = _batch_send(batch, customer_id)
        except StripeUnavailableError:
            report.waiting = len(unsent) - position
            if progress is not None:
                progress(f"Stripe could not be reached: {report.waiting} batch(es) wait")
            break
        if outcome == "sent":
            report.sent += 1
        elif outcome == "already counted":
            report.already_counted += 1
        else:
            report.failed += 1
        if progress is not None:
            progress(
                f"[{position + 1}/{len(unsent)}] {batch.value.normalize():f} {batch.meter} "
                f"of {customer_id}: {outcome}"
            )
    for (customer_id, meter), (records, value) in report.held.items():
        logger.warning(
            "Usage of %s %s (%d record(s)) of %s is kept, not sent: the customer's "
            "subscription has no metered price on that meter.",
            format(value.normalize(), "f"),
            meter,
            records,
            customer_id,
        )
    return report


# --- The bill so far -------------------------------------------------------------------------


@dataclass(frozen=True)
class BillEstimate:
    """Stripe's preview of the subscription's next invoice: the usage so far, billed."""

    amount_due: int
    currency: str
    # What the usage lines come to, before discounts.
    usage_amount: int
    invoice_date: datetime | None

    @property
    def amount_due_text(self) -> str:
        return amount_format(amount=self.amount_due, currency=self.currency, cents=True)

    @property
    def usage_amount_text(self) -> str:
        return amount_format(amount=self.usage_amount, currency=self.currency, cents=True)


# A preview is asked of Stripe at most this often per subscription, and again at once when
# more usage has been sent to it.
ESTIMATE_CACHE_SECONDS = 30


def usage_bill_estimate(*, state: BillingState) -> BillEstimate | None:
    """The next invoice as Stripe previews it now (usage so far included); None without a
    live subscription billing usage, or when Stripe cannot be reached."""
    if not state.is_live or not state.metered_items or state.subscription_id is None:
        return None
    sent = UsageBatch.objects.filter(sent_at__isnull=False).aggregate(last=Max("pk"))["last"]
    updated = state.updated.timestamp() if state.updated is not None else 0
    key = f"accounts:usage:estimate:{state.subscription_id}:{sent}:{updated}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    metered = {item.price_id for item in state.metered_items}
    try:
        with translate_stripe_errors("preview the next invoice"):
            invoice = stripe_client().v1.invoices.create_preview(
                params={"subscription": state.subscription_id}
            )
    except (StripeUnavailableError, StripeRequestError):
        return None
    data = stripe_json(invoice)
    lines = (data.get("lines") or {}).get("data") or []
    estimate = BillEstimate(
        amount_due=int(data.get("amount_due") or 0),
        currency=data.get("currency") or "usd",
        usage_amount=sum(
            int(line.get("amount") or 0) for line in lines if _line_price_id(line) in metered
        ),
        invoice_date=stripe_timestamp(data.get("period_end")),
    )
    cache.set(key, estimate, ESTIMATE_CACHE_SECONDS)
    return estimate


def _line_price_id(line: dict[str, Any]) -> str | None:
    pricing = line.get("pricing") or {}
    price = (pricing.get("price_details") or {}).get("price") or line.get("price")
    return price.get("id") if isinstance(price, dict) else price


# --- Flushing without a broker ----------------------------------------------------------------


def _in_process() -> bool:
    """Whether there is no broker (Celery runs tasks eagerly): nothing else will flush."""
    return bool(current_app.conf.task_always_eager)


_soon_lock = threading.Lock()
_soon: threading.Timer | None = None


def usage_flush_soon() -> None:
    """Flush in a thread of this process in a moment, unless one is already due: without a
    broker, usage reaches Stripe within seconds of being recorded."""
    global _soon
    with _soon_lock:
        if _soon is not None and _soon.is_alive():
            return
        _soon = threading.Timer(IN_PROCESS_FLUSH_DELAY_SECONDS, _flush_in_thread)
        _soon.daemon = True
        _soon.start()


def _flush_in_thread() -> None:
    global _soon
    with _soon_lock:
        _soon = None
    try:
        usage_flush()
    except Exception:
        # Nobody sees what a thread raises: log it. The usage stays pending for the next flush.
        logger.exception("In-process usage flush failed")
    finally:
        # This thread's own connections: nothing else would close them.
        connections.close_all()
