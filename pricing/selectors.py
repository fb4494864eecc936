"""Reads for the pricing page: its catalog of plan cards for an interval and seat count (and,
with a promotion code, what it takes off each), built from what `pricing.catalog` says is on
offer (three queries, one once cached; never a Stripe call)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pricing.catalog import (
    PriceRow,
    active_intervals,
    active_meters,
    active_products,
    catalog_offers,
)
from pricing.metadata import ProductMetadata
from pricing.plan_changes import ChangeKind, PlanPosition, plan_change_kind
from pricing.price_maths import (
    amount_format,
    annual_savings_percent,
    metered_terms_describe,
    price_terms_describe,
    price_terms_from_stripe,
    price_total,
)
from pricing.promotions import PlanDiscount, Promotion, plan_discount

SEATS_MIN = 1
SEATS_MAX = 10_000
# The words for billing intervals everywhere Portal shows one (the pricing page's toggle, the
# status page): monthly and yearly, never "annual".
INTERVAL_LABELS = {"day": "Daily", "week": "Weekly", "month": "Monthly", "year": "Yearly"}
INTERVAL_ADVERBS = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}


@dataclass(frozen=True)
class PlanCard:
    """One product's card for one interval, ready to render."""

    product: ProductMetadata
    price_id: str
    interval: str
    currency: str
    total: int
    price_text: str
    period_text: str
    seats: int | None
    pricing_lines: list[str]
    monthly_equivalent_text: str | None
    savings_percent: int | None
    is_default: bool
    is_current: bool
    # For a holder with a live subscription, what choosing this card is: "current",
    # "upgrade", "downgrade" or "switch" (None for everyone else, who subscribes).
    change: ChangeKind | None = None
    # The current plan's interval, to word a switch of interval ("Switch to yearly").
    current_interval: str | None = None
    # Days of free trial subscribing starts with (0: none, or the holder has had its trial).
    trial_days: int = 0
    # What the promotion code of a `?promo=` link does to this plan's price (None: no code).
    discount: PlanDiscount | None = None
    # What its usage costs, one line per meter billed ("10,000 API calls included, then
    # $0.002 per API call"), per period.
    usage_lines: list[str] = field(default_factory=list)

    @property
    def discounted_price_text(self) -> str | None:
        """The price with the promotion code ("$40"); None when no code applies."""
        if self.discount is None or self.discount.total is None or self.price_is_custom_text:
            return None
        return amount_format(amount=self.discount.total, currency=self.currency)

    @property
    def promotion_code(self) -> str | None:
        """The code Subscribe sends on to Checkout: only where it applies."""
        if self.discounted_price_text is None or self.discount is None:
            return None
        return self.discount.promotion.code

    @property
    def trial_requires_card(self) -> bool:
        return self.product.trial_requires_card

    @property
    def subscribe_label(self) -> str:
        """The card's button for someone without a subscription."""
        if self.trial_days:
            return f"Start your {self.trial_days}-day free trial"
        return f"Subscribe to {self.name}"

    @property
    def after_trial_text(self) -> str:
        """What the trial turns into: "then $50 per month" (for the seats shown, with the
        promotion code when one applies)."""
        seats = f" for {self.seats} seat{'s' if self.seats != 1 else ''}" if self.seats else ""
        price = self.discounted_price_text or amount_format(
            amount=self.total, currency=self.currency
        )
        return f"then {price} per {self.interval}{seats}"

    @property
    def change_label(self) -> str:
        """The card's button for a subscriber."""
        if self.change == "current":
            return "Current plan"
        if self.is_current and self.current_interval and self.current_interval != self.interval:
            return f"Switch to {INTERVAL_ADVERBS.get(self.interval, self.interval)}"
        if self.is_current and self.per_seat:
            return f"Change to {self.seats} seat{'s' if self.seats != 1 else ''}"
        return {"upgrade": "Upgrade", "downgrade": "Downgrade"}.get(self.change or "", "Switch")

    @property
    def slug(self) -> str:
        return self.product.slug

    @property
    def name(self) -> str:
        return self.product.name

    @property
    def per_seat(self) -> bool:
        return self.product.per_seat

    @property
    def price_is_custom_text(self) -> bool:
        return self.interval in self.product.price_displays

    @property
    def total_text(self) -> str:
        """The computed price for the seats shown, even where `price_displays` replaces it."""
        return amount_format(amount=self.total, currency=self.currency)


@dataclass(frozen=True)
class IntervalChoice:
    value: str
    label: str
    adverb: str
    best_savings_percent: int | None
    selected: bool


@dataclass(frozen=True)
class Catalog:
    """The pricing page for one interval and seat count."""

    interval: str
    seats: int
    intervals: list[IntervalChoice]
    plans: list[PlanCard]
    unavailable: list[ProductMetadata] = field(default_factory=list)
    # Whether every interval offers the same plans: then switching interval or seats only
    # changes what each card costs, and the page can swap just that.
    same_plans_every_interval: bool = True
    # The usable promotion code the page is priced with (None: regular prices).
    promotion: Promotion | None = None

    @property
    def has_per_seat(self) -> bool:
        return any(plan.per_seat for plan in self.plans)

    @property
    def flat_plans(self) -> list[PlanCard]:
        """The plans billed at one price whatever the seat count."""
        return [plan for plan in self.plans if not plan.per_seat]

    @property
    def seat_plans(self) -> list[PlanCard]:
        """The plans the seat count re-prices."""
        return [plan for plan in self.plans if plan.per_seat]


@dataclass(frozen=True)
class CurrentPlan:
    """What a holder's live subscription bills: its price (as Stripe sent it) and quantity."""

    price_id: str
    quantity: int
    price_data: dict[str, Any]


def _position(current: CurrentPlan, offers: dict[str, dict[str, PriceRow]]) -> PlanPosition | None:
    """The current plan as a position to compare cards with; None when its amount cannot be
    worked out (a tiered price whose tiers are not known)."""
    rows = (row for prices in offers.values() for row in prices.values())
    terms = next((row.terms for row in rows if row.id == current.price_id), None)
    if terms is None:
        terms = price_terms_from_stripe(data=current.price_data)
        if terms.is_tiered and not terms.tiers:
            return None
    return PlanPosition(price_id=current.price_id, terms=terms, quantity=current.quantity)


def _usage_lines(price: PriceRow, interval: str) -> list[str]:
    meters = {meter.event_name: meter for meter in active_meters()}
    lines = []
    for metered in price.metered:
        meter = meters.get(metered.event_name)
        if meter is not None:
            usage = metered_terms_describe(
                terms=metered.terms, unit=meter.unit, unit_plural=meter.unit_plural
            )
            lines.append(f"{usage}, per {interval}")
    return lines


def _card(
    *,
    product: ProductMetadata,
    price: PriceRow,
    monthly: PriceRow | None,
    interval: str,
    seats: int,
    is_current: bool,
    current: PlanPosition | None = None,
    trial_offered: bool = False,
    promotion: Promotion | None = None,
) -> PlanCard:
    terms = price.terms
    quantity = seats if product.per_seat else 1
    total = price_total(terms=terms, quantity=quantity)
    savings = None
    monthly_equivalent = None
    if interval == "year":
        monthly_equivalent = amount_format(amount=total / 12, currency=terms.currency, cents=True)
        if monthly is not None and monthly.terms.currency == terms.currency:
            savings = annual_savings_percent(
                monthly_total=price_total(terms=monthly.terms, quantity=quantity),
                yearly_total=total,
            )
    custom_text = product.price_displays.get(interval)
    change = None
    if current is not None:
        offered = PlanPosition(price_id=price.id, terms=terms, quantity=quantity)
        change = plan_change_kind(current=current, new=offered)
    return PlanCard(
        product=product,
        price_id=price.id,
        interval=interval,
        currency=terms.currency,
        total=total,
        price_text=custom_text or amount_format(amount=total, currency=terms.currency),
        period_text="" if custom_text else f"/{interval}",
        seats=quantity if product.per_seat else None,
        pricing_lines=price_terms_describe(terms=terms) if product.per_seat else [],
        usage_lines=_usage_lines(price, interval),
        monthly_equivalent_text=None if custom_text else monthly_equivalent,
        savings_percent=savings,
        is_default=product.is_default,
        is_current=is_current,
        change=change,
        current_interval=current.terms.interval if current is not None else None,
        trial_days=product.trial_days if trial_offered and current is None else 0,
        discount=(
            plan_discount(
                promotion=promotion,
                product_id=product.stripe_id,
                plan_name=product.name,
                total=total,
                currency=terms.currency,
            )
            if promotion is not None and current is None and not custom_text
            else None
        ),
    )


def catalog_for_page(
    *,
    interval: str,
    seats: int,
    current_price_ids: frozenset[str] = frozenset(),
    current_product_ids: frozenset[str] = frozenset(),
    products: Iterable[ProductMetadata] | None = None,
    intervals: Sequence[str] | None = None,
    stamp: str | None = None,
    current: CurrentPlan | None = None,
    trial_offered: bool = True,
    promotion: Promotion | None = None,
) -> Catalog:
    """The pricing page's catalog for `interval` and `seats`, in three queries (one cached).

    `products` and `intervals` default to `pricing.metadata`. A product that is not synced, or
    has no price for the interval, is left out (and listed in `unavailable`); the system check
    reports it. `current_price_ids`/`current_product_ids` (what the holder's live subscription
    bills) mark the current plan. `stamp`: the catalog stamp, when the caller has just read it.
    `current`: a subscriber's plan, so that each card says what choosing it is (upgrade...).
    `trial_offered`: whether subscribing starts the plans' free trials (False for a holder who
    has had one). `promotion`: a usable promotion code (see `pricing.promotions`) to price the
    cards with; it is for subscribing, so a subscriber's cards ignore it.
    """
    products = list(active_products() if products is None else products)
    intervals = list(active_intervals() if intervals is None else intervals)
    offers = catalog_offers(product_ids=[product.stripe_id for product in products], stamp=stamp)
    position = _position(current, offers) if current is not None else None
    plans: list[PlanCard] = []
    unavailable: list[ProductMetadata] = []
    best_savings: int | None = None
    for product in products:
        prices = offers.get(product.stripe_id, {})
        price = prices.get(interval)
        if "year" in prices and "month" in prices:
            yearly = _card(
                product=product,
                price=prices["year"],
                monthly=prices["month"],
                interval="year",
                seats=seats,
                is_current=False,
            )
            if yearly.savings_percent is not None:
                best_savings = max(best_savings or 0, yearly.savings_percent)
        if price is None:
            unavailable.append(product)
            continue
        plans.append(
            _card(
                product=product,
                price=price,
                monthly=prices.get("month"),
                interval=interval,
                seats=seats,
                is_current=(
                    price.id in current_price_ids or product.stripe_id in current_product_ids
                ),
                current=position,
                trial_offered=trial_offered,
                promotion=promotion,
            )
        )
    choices = [
        IntervalChoice(
            value=value,
            label=INTERVAL_LABELS.get(value, value.capitalize()),
            adverb=INTERVAL_ADVERBS.get(value, value),
            best_savings_percent=best_savings if value == "year" else None,
            selected=value == interval,
        )
        for value in intervals
    ]
    offered_per_interval = {
        frozenset(
            product.slug for product in products if value in offers.get(product.stripe_id, {})
        )
        for value in intervals
    }
    return Catalog(
        interval=interval,
        seats=seats,
        intervals=choices,
        plans=plans,
        unavailable=unavailable,
        same_plans_every_interval=len(offered_per_interval) <= 1,
        promotion=promotion if current is None else None,
    )
