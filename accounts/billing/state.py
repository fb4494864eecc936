"""A holder's billing state: the one reader of dj-stripe's rows about a subscription.

Everything Portal shows or decides about a holder's subscription (its plan, items, seats,
period, status, cancellation, trial, card, customer balance and discount) is read here, by
`billing_state(holder=...)`, into a frozen `BillingState`. Gating, the status page, the pricing
page's "current plan", team seats, seat sync and the mails all ask it; a new concern (a
scheduled change, a discount, usage) adds its fields here, once.

It reads today's Stripe shapes: since API 2025-03-31 the current period is each item's, not
the subscription's (dj-stripe 2.11's `Subscription.current_period_end` reads the old field, so
it is not used).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce, NullIf
from djstripe.models import (
    Coupon,
    Customer,
    Discount,
    Invoice,
    PaymentMethod,
    PromotionCode,
    Subscription,
    SubscriptionSchedule,
)

from pricing.catalog import active_products
from pricing.metadata import ProductMetadata
from pricing.price_maths import CouponTerms, coupon_terms_from_stripe

if TYPE_CHECKING:
    from accounts.models import SubscriptionHolder

# The statuses in which a subscription is the holder's live one (it may still need a payment).
LIVE_STATUSES = frozenset({"active", "trialing", "past_due"})


def stripe_timestamp(value: Any) -> datetime | None:
    """A Stripe timestamp (Unix seconds) as an aware datetime; None when absent."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value), tz=UTC)


def _reference_id(value: Any) -> str | None:
    """An id, whether Stripe sent it bare or expanded into its object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value or None


@dataclass(frozen=True)
class BillingItem:
    """One subscription item: a price, as the subscription embeds it, and its quantity."""

    id: str
    price: dict[str, Any]
    quantity: int
    period_start: datetime | None
    period_end: datetime | None

    @property
    def price_id(self) -> str | None:
        return self.price.get("id")

    @property
    def product_id(self) -> str | None:
        return _reference_id(self.price.get("product"))

    @property
    def currency(self) -> str:
        return self.price.get("currency") or "usd"

    @property
    def interval(self) -> str:
        return (self.price.get("recurring") or {}).get("interval") or "month"

    @property
    def interval_count(self) -> int:
        return int((self.price.get("recurring") or {}).get("interval_count") or 1)

    @property
    def is_metered(self) -> bool:
        """Billed at the period's end for the usage its meter counted (no quantity)."""
        return (self.price.get("recurring") or {}).get("usage_type") == "metered"

    @property
    def meter_id(self) -> str | None:
        return (self.price.get("recurring") or {}).get("meter")


@dataclass(frozen=True)
class ScheduledChange:
    """What the subscription's schedule changes it to, and when (a downgrade at the end of the
    period): the next phase's first item."""

    starts: datetime
    price_id: str
    quantity: int


@dataclass(frozen=True)
class BillingDiscount:
    """The discount on the subscription (its first, as Portal applies one): the coupon's terms,
    when it started and ends, and the promotion code it was redeemed with."""

    id: str
    # None when the coupon is not in the database (not synced yet).
    coupon: CouponTerms | None
    start: datetime | None
    # When a `repeating` coupon stops discounting (None for `once` and `forever`).
    end: datetime | None
    promotion_code_id: str | None = None
    # The customer-facing code ("LAUNCH20"), when the promotion code is in the database.
    code: str | None = None
    # A `once` coupon the latest invoice has used: Stripe keeps it on the subscription until
    # the next invoice, which it no longer discounts.
    spent: bool = False


@dataclass(frozen=True)
class BillingState:
    """What a holder's subscription is, now; `NO_SUBSCRIPTION` when it has none."""

    subscription_id: str | None = None
    customer_id: str | None = None
    status: str | None = None
    items: tuple[BillingItem, ...] = ()
    # The plan `pricing.metadata` describes: of the first licensed item whose product it lists.
    plan: ProductMetadata | None = None
    # The licensed item that bills the plan (the first one when no product is listed).
    plan_item: BillingItem | None = None
    cancel_at_period_end: bool = False
    cancel_at: datetime | None = None
    trial_start: datetime | None = None
    trial_end: datetime | None = None
    # Whether the holder's customer has had a free trial, on this or any earlier subscription
    # (each holder gets one).
    had_trial: bool = False
    # When an ended subscription ended.
    ended_at: datetime | None = None
    # The card payments are taken from: the subscription's own, else the customer's default.
    payment_method_id: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    # The customer's Stripe balance in minor units: negative is credit for the next invoices.
    balance: int = 0
    balance_currency: str | None = None
    # When dj-stripe last wrote the subscription (for cache keys).
    updated: datetime | None = None
    # The subscription schedule that manages the subscription, and the change it will make.
    schedule_id: str | None = None
    scheduled_change: ScheduledChange | None = None
    # The discount on the subscription, if any.
    discount: BillingDiscount | None = None

    @property
    def has_subscription(self) -> bool:
        return self.subscription_id is not None

    @property
    def is_live(self) -> bool:
        """Active, trialing or past due: the holder's current subscription."""
        return self.status in LIVE_STATUSES

    @property
    def is_trialing(self) -> bool:
        return self.status == "trialing"

    @property
    def has_card(self) -> bool:
        return self.payment_method_id is not None

    @property
    def trial_ended_without_card(self) -> bool:
        """A free trial that ended with no card on file: Stripe paused the subscription, or
        canceled it when the trial ended."""
        if self.status == "paused":
            return True
        return (
            self.status == "canceled"
            and self.trial_end is not None
            and self.ended_at == self.trial_end
            and not self.has_card
        )

    @property
    def name(self) -> str | None:
        """The plan's name in `pricing.metadata` (templates: `{{ plan.name }}`)."""
        return self.plan.name if self.plan is not None else None

    @property
    def slug(self) -> str | None:
        return self.plan.slug if self.plan is not None else None

    @property
    def product_id(self) -> str | None:
        return self.plan_item.product_id if self.plan_item is not None else None

    @property
    def seats(self) -> int:
        return self.plan_item.quantity if self.plan_item is not None else 0

    @property
    def period_start(self) -> datetime | None:
        return self.plan_item.period_start if self.plan_item is not None else None

    @property
    def period_end(self) -> datetime | None:
        return self.plan_item.period_end if self.plan_item is not None else None

    @property
    def ends_at(self) -> datetime | None:
        """When a live subscription set to cancel stops: `cancel_at`, or its period's end."""
        ends = self.cancel_at
        if self.cancel_at_period_end and self.period_end is not None:
            ends = min(ends, self.period_end) if ends else self.period_end
        return ends

    @property
    def cancels_on(self) -> datetime | None:
        """When a live subscription set to cancel ends; None when it renews."""
        return self.ends_at if self.is_live else None

    @property
    def renews_on(self) -> datetime | None:
        """When a live subscription that is not set to cancel renews."""
        return self.period_end if self.is_live and self.ends_at is None else None

    @property
    def credit(self) -> int:
        """Credit on the customer's balance, applied to the next invoices (minor units)."""
        return max(0, -self.balance)

    @property
    def metered_items(self) -> tuple[BillingItem, ...]:
        """The items that bill usage, each of one meter, at the period's end."""
        return tuple(item for item in self.items if item.is_metered)

    @property
    def current_price_ids(self) -> frozenset[str]:
        """The prices a live subscription bills (empty when it is not live)."""
        if not self.is_live:
            return frozenset()
        return frozenset(item.price_id for item in self.items if item.price_id)

    @property
    def current_product_ids(self) -> frozenset[str]:
        """The products a live subscription bills (empty when it is not live)."""
        if not self.is_live:
            return frozenset()
        return frozenset(item.product_id for item in self.items if item.product_id)


NO_SUBSCRIPTION = BillingState()


def _items(data: dict[str, Any]) -> tuple[BillingItem, ...]:
    items = data.get("items") or {}
    entries = items.get("data") or [] if isinstance(items, dict) else items
    found = []
    for entry in entries:
        price = entry.get("price") or entry.get("plan") or {}
        found.append(
            BillingItem(
                id=entry.get("id") or "",
                price=price if isinstance(price, dict) else {"id": price},
                quantity=int(entry.get("quantity") or 1),
                period_start=stripe_timestamp(entry.get("current_period_start")),
                period_end=stripe_timestamp(entry.get("current_period_end")),
            )
        )
    return tuple(found)


def billing_state_from_subscription(
    *,
    subscription: Subscription,
    customer: Customer | None = None,
    card: dict[str, Any] | None = None,
    schedule_phases: list[dict[str, Any]] | None = None,
    had_trial: bool = False,
    discount: dict[str, Any] | None = None,
    coupon: dict[str, Any] | None = None,
    promotion_code: str | None = None,
    latest_invoice: dict[str, Any] | None = None,
) -> BillingState:
    """Read a dj-stripe `Subscription` (and its customer, the card's `brand` and `last4`, its
    schedule's phases, whether the customer had a trial before, its first discount with the
    coupon and the code, and its latest invoice, when given); no queries."""
    data = subscription.stripe_data or {}
    items = _items(data)
    plans = active_products()
    plan_item, plan = None, None
    # The plan is the licensed item: a metered item of the same product bills its usage.
    licensed = [item for item in items if not item.is_metered]
    for item in licensed:
        match = next((p for p in plans if p.stripe_id == item.product_id), None)
        if match is not None:
            plan_item, plan = item, match
            break
    if plan_item is None and licensed:
        plan_item = licensed[0]
    card = card or {}
    customer_data = customer.stripe_data if customer is not None else {}
    return BillingState(
        subscription_id=subscription.id,
        customer_id=_reference_id(data.get("customer")) or subscription.customer_id,
        status=data.get("status") or "incomplete",
        items=items,
        plan=plan,
        plan_item=plan_item,
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        cancel_at=stripe_timestamp(data.get("cancel_at")),
        trial_start=stripe_timestamp(data.get("trial_start")),
        trial_end=stripe_timestamp(data.get("trial_end")),
        had_trial=had_trial or data.get("trial_start") is not None,
        ended_at=stripe_timestamp(data.get("ended_at")),
        payment_method_id=_payment_method_id(data, customer_data),
        card_brand=card.get("brand"),
        card_last4=card.get("last4"),
        balance=int(customer_data.get("balance") or 0),
        balance_currency=customer_data.get("currency"),
        updated=subscription.djstripe_updated,
        schedule_id=_reference_id(data.get("schedule")),
        scheduled_change=_scheduled_change(schedule_phases or [], after=plan_item),
        discount=_discount(data, discount, coupon, promotion_code, latest_invoice),
    )


def _discount(
    subscription: dict[str, Any],
    discount: dict[str, Any] | None,
    coupon: dict[str, Any] | None,
    code: str | None,
    latest_invoice: dict[str, Any] | None,
) -> BillingDiscount | None:
    """The subscription's first discount, from the stored Discount (else the subscription's own
    copy, when it was synced expanded) and its coupon (else the discount's, when expanded)."""
    listed = subscription.get("discounts") or []
    if not listed:
        return None
    first = listed[0]
    discount_id = _reference_id(first)
    if not discount_id:
        return None
    data = discount or (first if isinstance(first, dict) else {"id": discount_id})
    source = data.get("source") or {}
    coupon_data = coupon or source.get("coupon") or data.get("coupon")
    terms = coupon_terms_from_stripe(data=coupon_data) if isinstance(coupon_data, dict) else None
    invoice = latest_invoice or {}
    used = any(
        entry.get("discount") == discount_id and int(entry.get("amount") or 0) > 0
        for entry in invoice.get("total_discount_amounts") or []
    )
    return BillingDiscount(
        id=discount_id,
        coupon=terms,
        start=stripe_timestamp(data.get("start")),
        end=stripe_timestamp(data.get("end")),
        promotion_code_id=_reference_id(data.get("promotion_code")),
        code=code,
        spent=used and terms is not None and terms.duration == "once",
    )


def _scheduled_change(
    phases: list[dict[str, Any]], *, after: BillingItem | None
) -> ScheduledChange | None:
    """The first phase that starts once the current one (the item's period) ends, and differs
    from what is billed now."""
    if after is None or after.period_end is None:
        return None
    for phase in phases:
        starts = stripe_timestamp(phase.get("start_date"))
        items = phase.get("items") or []
        if starts is None or starts < after.period_end or not items:
            continue
        price_id = _reference_id(items[0].get("price"))
        quantity = int(items[0].get("quantity") or 1)
        if price_id and (price_id, quantity) != (after.price_id, after.quantity):
            return ScheduledChange(starts=starts, price_id=price_id, quantity=quantity)
    return None


def _payment_method_id(subscription: dict[str, Any], customer: dict[str, Any]) -> str | None:
    own = _reference_id(subscription.get("default_payment_method"))
    invoice_settings = customer.get("invoice_settings") or {}
    return own or _reference_id(invoice_settings.get("default_payment_method"))


def _json_text(key: str, value: str | KeyTransform) -> NullIf:
    """`value[key]` as text, NULL when absent or JSON null (SQLite reads a null as 'null')."""
    return NullIf(KeyTextTransform(key, value), Value("null"), output_field=TextField())


@cache
def _billing_query() -> QuerySet[Subscription]:
    """Subscriptions with their customer, the card they pay with (the subscription's own card,
    else its customer's default, as Stripe charges), their schedule's phases, whether the
    customer had a trial, their discount (with its coupon and code) and latest invoice. Built
    once per process: its expressions are resolved once, and each read only adds the primary
    key."""
    paying_with = Coalesce(
        _json_text("default_payment_method", "stripe_data"),
        _json_text(
            "default_payment_method", KeyTransform("invoice_settings", "customer__stripe_data")
        ),
    )
    card = PaymentMethod.objects.filter(id=OuterRef("paying_with")).values("stripe_data")[:1]
    # The schedule managing the subscription (a change waiting for the period's end).
    phases = SubscriptionSchedule.objects.filter(
        id=OuterRef("schedule_ref"), status__in=("active", "not_started")
    ).values("phases")[:1]
    # Any subscription of the same customer that had a free trial.
    trials = Subscription.objects.filter(customer_id=OuterRef("customer_id")).filter(
        ~Q(stripe_data__trial_start=None), stripe_data__has_key="trial_start"
    )
    # The first discount (listed as an id, or as the object when synced expanded), its coupon
    # (`source.coupon`, an id or the object) and its promotion code's customer-facing code.
    first_discount = KeyTransform("0", KeyTransform("discounts", "stripe_data"))
    discounts = Discount.objects.filter(id=OuterRef("discount_ref"))
    source = KeyTransform("source", "stripe_data")
    coupon_ids = discounts.annotate(
        coupon_id=Coalesce(
            _json_text("id", KeyTransform("coupon", source)), _json_text("coupon", source)
        )
    ).values("coupon_id")[:1]
    codes = PromotionCode.objects.filter(id=OuterRef("promotion_code_ref")).annotate(
        code=_json_text("code", "stripe_data")
    )
    # What the latest invoice took off, by discount: whether it used a `once` discount. Only
    # that key is read, not the whole invoice (lines and all), on every page.
    latest_invoice_discounts = (
        Invoice.objects.filter(id=OuterRef("latest_invoice_ref"))
        .annotate(amounts=KeyTransform("total_discount_amounts", "stripe_data"))
        .values("amounts")[:1]
    )
    return Subscription.objects.select_related("customer").annotate(
        paying_with=paying_with,
        paying_with_data=Subquery(card),
        schedule_ref=_json_text("schedule", "stripe_data"),
        schedule_phases=Subquery(phases),
        had_trial=Exists(trials),
        discount_ref=Coalesce(
            _json_text("id", first_discount),
            _json_text("0", KeyTransform("discounts", "stripe_data")),
        ),
        discount_data=Subquery(discounts.values("stripe_data")[:1]),
        coupon_ref=Subquery(coupon_ids),
        coupon_data=Subquery(
            Coupon.objects.filter(id=OuterRef("coupon_ref")).values("stripe_data")[:1]
        ),
        promotion_code_ref=Subquery(discounts.values("promotion_code")[:1]),
        promotion_code_text=Subquery(codes.values("code")[:1]),
        latest_invoice_ref=Coalesce(
            _json_text("id", KeyTransform("latest_invoice", "stripe_data")),
            _json_text("latest_invoice", "stripe_data"),
        ),
        latest_invoice_discounts=Subquery(latest_invoice_discounts),
    )


def billing_state(*, holder: SubscriptionHolder | None) -> BillingState:
    """The holder's billing state, from dj-stripe's rows in one query (the subscription, its
    customer, the card it pays with, the phases of its schedule, its discount with the coupon
    and code, and what its latest invoice took off). `NO_SUBSCRIPTION` without
    a holder or a subscription."""
    if holder is None or not holder.subscription_id:
        return NO_SUBSCRIPTION
    found = list(_billing_query().filter(pk=holder.subscription_id))
    if not found:
        return NO_SUBSCRIPTION
    return billing_state_from_row(found[0])


def subscriptions_with_billing_data() -> QuerySet[Subscription]:
    """Every subscription with what its billing state reads besides its own row (its customer,
    card, schedule, discount, coupon, code and latest invoice's discounts), for
    `billing_state_from_row`: the billing states of many subscriptions in one query (the
    admin's list, the billing snapshots). Filter and order it as any queryset."""
    return _billing_query().all()


def billing_state_from_row(subscription: Subscription) -> BillingState:
    """The billing state of a subscription read by `subscriptions_with_billing_data` (or
    `billing_state`'s query); no queries."""
    card = (subscription.paying_with_data or {}).get("card") or {}
    return billing_state_from_subscription(
        subscription=subscription,
        customer=subscription.customer,
        card=card,
        schedule_phases=subscription.schedule_phases,
        had_trial=subscription.had_trial,
        discount=subscription.discount_data,
        coupon=subscription.coupon_data,
        promotion_code=subscription.promotion_code_text,
        latest_invoice={"total_discount_amounts": subscription.latest_invoice_discounts or []},
    )
