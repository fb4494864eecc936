"""Reads for the pricing page: the catalog, built from the local database only.

Prices come from dj-stripe's `Product` and `Price` rows (synced by `bootstrap_subscriptions`),
words from `pricing.metadata`. Building the catalog costs three queries whatever the number of
products (the catalog's stamp, the products, and their active prices, prefetched), and one once
cached; it never calls Stripe. The cache is keyed by the stamp, which changes whenever a product
or price row is added, changed or deleted (by a webhook, a sync or the admin), so a cached
catalog is never stale, in any process.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connections
from django.db.models import Prefetch
from djstripe.models import Price, Product

from pricing import metadata as pricing_metadata
from pricing.metadata import ProductMetadata
from pricing.plan_changes import ChangeKind, PlanPosition, plan_change_kind
from pricing.price_maths import (
    PriceTerms,
    amount_format,
    annual_savings_percent,
    price_terms_describe,
    price_terms_from_stripe,
    price_total,
)

SEATS_MIN = 1
SEATS_MAX = 10_000
INTERVAL_LABELS = {"month": "Monthly", "year": "Yearly"}
INTERVAL_ADVERBS = {"month": "monthly", "year": "yearly"}


def active_products() -> list[ProductMetadata]:
    """The products `pricing.metadata` lists, read at call time (so edits and tests apply)."""
    return list(pricing_metadata.ACTIVE_PRODUCTS)


def active_intervals() -> list[str]:
    """The intervals `pricing.metadata` offers; the first is the page's default."""
    return list(pricing_metadata.ACTIVE_PLAN_INTERVALS) or ["month"]


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
class _PriceRow:
    id: str
    terms: PriceTerms
    created: Any


def prices_by_interval(*, product: Product) -> dict[str, _PriceRow]:
    """The price to show for each interval, from the product's prefetched (active) `prices`:
    the product's default price when it bills in that interval, else the newest one.

    Only prices billed every 1 month or year count; a tiered price synced without its tiers
    cannot be priced and is skipped.
    """
    default_price = product.stripe_data.get("default_price")
    if isinstance(default_price, dict):
        default_price = default_price.get("id")
    chosen: dict[str, _PriceRow] = {}
    rows = sorted(product.prices.all(), key=lambda price: (price.created is None, price.created))
    for price in rows:
        terms = price_terms_from_stripe(data=price.stripe_data)
        if terms.interval is None or terms.interval_count != 1:
            continue
        if terms.is_tiered and not terms.tiers:
            continue
        current = chosen.get(terms.interval)
        if current is not None and current.id == default_price:
            continue
        chosen[terms.interval] = _PriceRow(id=price.id, terms=terms, created=price.created)
    return chosen


def catalog_products(*, product_ids: Sequence[str], using: str = "default") -> dict[str, Product]:
    """The synced products with these ids, each with its active prices prefetched (2 queries)."""
    products = (
        Product.objects.using(using)
        .filter(id__in=product_ids)
        .prefetch_related(
            Prefetch("prices", queryset=Price.objects.using(using).filter(active=True))
        )
    )
    return {product.id: product for product in products}


# Cached catalogs are keyed by the catalog's stamp, so this only bounds how long a superseded
# one takes up memory.
CATALOG_CACHE_SECONDS = 600


@functools.cache
def _catalog_stamp_sql(using: str) -> str:
    quote = connections[using].ops.quote_name
    # Table and column names come from the models, never from input.
    columns = []
    for model in (Product, Price):
        table = quote(model._meta.db_table)
        updated = quote(model._meta.get_field("djstripe_updated").column)
        columns += [
            f"(SELECT COUNT(*) FROM {table})",  # noqa: S608
            f"(SELECT MAX({updated}) FROM {table})",  # noqa: S608
        ]
    return "SELECT " + ", ".join(columns)


def catalog_stamp(*, using: str = "default") -> str:
    """A short hash of how many synced products and prices there are and when the latest
    changed, in one query: it changes with every product or price written or deleted."""
    with connections[using].cursor() as cursor:
        cursor.execute(_catalog_stamp_sql(using))
        row = cursor.fetchone()
    return hashlib.sha256(repr(row).encode()).hexdigest()[:20]


# How long a process may reuse the catalog stamp it read for the pricing page (one query less
# per view). Product and price writes in this process (a sync, the admin, webhooks processed
# in-process) forget it at once (`catalog_stamp_forget`); other processes' writes (a worker's)
# show within this many seconds.
STAMP_REUSE_SECONDS = 1.0
_recent_stamps: dict[str, tuple[float, str]] = {}


def catalog_stamp_recent(*, using: str = "default") -> str:
    """`catalog_stamp`, read at most once per `STAMP_REUSE_SECONDS` in this process."""
    now = time.monotonic()
    recent = _recent_stamps.get(using)
    if recent is not None and now - recent[0] < STAMP_REUSE_SECONDS:
        return recent[1]
    stamp = catalog_stamp(using=using)
    _recent_stamps[using] = (now, stamp)
    return stamp


def catalog_stamp_forget(**_signal: object) -> None:
    """Make the next `catalog_stamp_recent` read the database (a product or price changed)."""
    _recent_stamps.clear()


def catalog_offers(
    *, product_ids: Sequence[str], using: str = "default", stamp: str | None = None
) -> dict[str, dict[str, _PriceRow]]:
    """The price to show per interval of each of these products that is synced and active,
    cached under the catalog's stamp (one query when cached, three when not; none when cached
    and the caller has just read the stamp and passes it)."""
    if stamp is None:
        stamp = catalog_stamp(using=using)
    key = (
        "pricing:offers:"
        + hashlib.sha256("|".join([using, stamp, *product_ids]).encode()).hexdigest()
    )
    offers = cache.get(key)
    if offers is None:
        rows = catalog_products(product_ids=product_ids, using=using)
        offers = {
            product_id: prices_by_interval(product=row)
            for product_id, row in rows.items()
            if row.active is not False
        }
        cache.set(key, offers, CATALOG_CACHE_SECONDS)
    return offers


@dataclass(frozen=True)
class CurrentPlan:
    """What a holder's live subscription bills: its price (as Stripe sent it) and quantity."""

    price_id: str
    quantity: int
    price_data: dict[str, Any]


def _position(current: CurrentPlan, offers: dict[str, dict[str, _PriceRow]]) -> PlanPosition | None:
    """The current plan as a position to compare cards with; None when its amount cannot be
    worked out (a tiered price whose tiers are not known)."""
    rows = (row for prices in offers.values() for row in prices.values())
    terms = next((row.terms for row in rows if row.id == current.price_id), None)
    if terms is None:
        terms = price_terms_from_stripe(data=current.price_data)
        if terms.is_tiered and not terms.tiers:
            return None
    return PlanPosition(price_id=current.price_id, terms=terms, quantity=current.quantity)


def _card(
    *,
    product: ProductMetadata,
    price: _PriceRow,
    monthly: _PriceRow | None,
    interval: str,
    seats: int,
    is_current: bool,
    current: PlanPosition | None = None,
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
        monthly_equivalent_text=None if custom_text else monthly_equivalent,
        savings_percent=savings,
        is_default=product.is_default,
        is_current=is_current,
        change=change,
        current_interval=current.terms.interval if current is not None else None,
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
) -> Catalog:
    """The pricing page's catalog for `interval` and `seats`, in three queries (one cached).

    `products` and `intervals` default to `pricing.metadata`. A product that is not synced, or
    has no price for the interval, is left out (and listed in `unavailable`); the system check
    reports it. `current_price_ids`/`current_product_ids` (what the holder's live subscription
    bills) mark the current plan. `stamp`: the catalog stamp, when the caller has just read it.
    `current`: a subscriber's plan, so that each card says what choosing it is (upgrade...).
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
    )


# --- One offered price ------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """A price the pricing page offers: its plan, its terms and its interval."""

    product: ProductMetadata
    price_id: str
    terms: PriceTerms
    interval: str


def _offers() -> list[Offer]:
    products = active_products()
    offers = catalog_offers(
        product_ids=[product.stripe_id for product in products], stamp=catalog_stamp_recent()
    )
    return [
        Offer(product=product, price_id=row.id, terms=row.terms, interval=interval)
        for product in products
        for interval, row in offers.get(product.stripe_id, {}).items()
    ]


def offer_for_price(*, price_id: str) -> Offer | None:
    """The offer of this price, if the pricing page offers it (cached: usually no query)."""
    return next((offer for offer in _offers() if offer.price_id == price_id), None)


def offer_for_plan(*, slug: str, interval: str) -> Offer | None:
    """The plan's offer in `interval`, else in the first interval it has one."""
    offers = [offer for offer in _offers() if offer.product.slug == slug]
    return next((offer for offer in offers if offer.interval == interval), None) or next(
        iter(offers), None
    )
