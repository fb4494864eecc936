"""What is on offer, read from the local database only: the products and intervals
`pricing.metadata` lists, their synced prices per interval, and one offered price.

Prices come from dj-stripe's `Product` and `Price` rows (synced by `bootstrap_subscriptions`).
Reading the offers costs four queries whatever the number of products (the catalog's stamp,
the products, their active prices, prefetched, and the meters), and one once cached; it never
calls Stripe. The cache is keyed by the stamp, which changes whenever a product, price, coupon,
promotion code or meter row is added, changed or deleted (by a webhook, a sync or the admin),
so cached offers (and the promotions of `pricing.promotions`) are never stale, in any process.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connections
from django.db.models import Prefetch
from djstripe.models import Coupon, Price, Product, PromotionCode

from pricing import metadata as pricing_metadata
from pricing.metadata import MeterMetadata, ProductMetadata
from pricing.models import Meter
from pricing.price_maths import PriceTerms, price_terms_from_stripe


def active_products() -> list[ProductMetadata]:
    """The products `pricing.metadata` lists, read at call time (so edits and tests apply)."""
    return list(pricing_metadata.ACTIVE_PRODUCTS)


def active_meters() -> list[MeterMetadata]:
    """The meters `pricing.metadata` lists, read at call time."""
    return list(pricing_metadata.ACTIVE_METERS)


def meter_named(slug: str) -> MeterMetadata | None:
    """The meter usage is recorded under this name, if `pricing.metadata` lists one."""
    return next((meter for meter in active_meters() if meter.slug == slug), None)


def active_intervals() -> list[str]:
    """The intervals `pricing.metadata` offers; the first is the page's default."""
    return list(pricing_metadata.ACTIVE_PLAN_INTERVALS) or ["month"]


@dataclass(frozen=True)
class MeteredPrice:
    """A metered price billed next to a plan's price: the usage of one meter."""

    id: str
    terms: PriceTerms
    # The `event_name` of the meter it bills (see `pricing.metadata.ACTIVE_METERS`).
    event_name: str


@dataclass(frozen=True)
class PriceRow:
    id: str
    terms: PriceTerms
    created: Any
    # The product's metered prices in the same interval, subscribed to with this one.
    metered: tuple[MeteredPrice, ...] = ()


def prices_by_interval(
    *, product: Product, meter_events: dict[str, str] | None = None
) -> dict[str, PriceRow]:
    """The price to show for each interval, from the product's prefetched (active) `prices`:
    the product's default price when it bills in that interval, else the newest one; with, for
    each meter (`meter_events`: Stripe meter id to event name), the newest metered price of
    that interval.

    Only prices billed every 1 month or year count; a tiered price synced without its tiers
    cannot be priced and is skipped, and so is a metered price of a meter not synced.
    """
    default_price = product.stripe_data.get("default_price")
    if isinstance(default_price, dict):
        default_price = default_price.get("id")
    chosen: dict[str, PriceRow] = {}
    metered: dict[tuple[str, str], MeteredPrice] = {}
    rows = sorted(product.prices.all(), key=lambda price: (price.created is None, price.created))
    for price in rows:
        terms = price_terms_from_stripe(data=price.stripe_data)
        if terms.interval is None or terms.interval_count != 1:
            continue
        if terms.is_tiered and not terms.tiers:
            continue
        if terms.is_metered:
            event_name = (meter_events or {}).get(terms.meter or "")
            if event_name is not None:
                metered[(terms.interval, event_name)] = MeteredPrice(price.id, terms, event_name)
            continue
        current = chosen.get(terms.interval)
        if current is not None and current.id == default_price:
            continue
        chosen[terms.interval] = PriceRow(id=price.id, terms=terms, created=price.created)
    return {
        interval: dataclasses.replace(
            row,
            metered=tuple(price for (of, _), price in sorted(metered.items()) if of == interval),
        )
        for interval, row in chosen.items()
    }


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


# The synced rows the pricing page shows (what is for sale, the codes that discount it, the
# meters usage is billed by), each with the column that says when it last changed.
CATALOG_STAMP_COLUMNS = {
    Product: "djstripe_updated",
    Price: "djstripe_updated",
    Coupon: "djstripe_updated",
    PromotionCode: "djstripe_updated",
    Meter: "updated",
}
CATALOG_MODELS = tuple(CATALOG_STAMP_COLUMNS)


@functools.cache
def _catalog_stamp_sql(using: str) -> str:
    quote = connections[using].ops.quote_name
    # Table and column names come from the models, never from input.
    columns = []
    for model, updated_field in CATALOG_STAMP_COLUMNS.items():
        table = quote(model._meta.db_table)
        updated = quote(model._meta.get_field(updated_field).column)
        columns += [
            f"(SELECT COUNT(*) FROM {table})",  # noqa: S608
            f"(SELECT MAX({updated}) FROM {table})",  # noqa: S608
        ]
    return "SELECT " + ", ".join(columns)


def catalog_stamp(*, using: str = "default") -> str:
    """A short hash of how many synced products, prices, coupons, promotion codes and meters
    there are and when the latest changed, in one query: it changes with every one written or
    deleted."""
    with connections[using].cursor() as cursor:
        cursor.execute(_catalog_stamp_sql(using))
        row = cursor.fetchone()
    return hashlib.sha256(repr(row).encode()).hexdigest()[:20]


# How long a process may reuse the catalog stamp it read for the pricing page (one query less
# per view). Writes of the catalog's rows in this process (a sync, the admin, webhooks processed
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
    """Make the next `catalog_stamp_recent` read the database (a catalog row changed)."""
    _recent_stamps.clear()


def catalog_offers(
    *, product_ids: Sequence[str], using: str = "default", stamp: str | None = None
) -> dict[str, dict[str, PriceRow]]:
    """The price to show per interval of each of these products that is synced and active,
    cached under the catalog's stamp (one query when cached, four when not; none when cached
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
        meter_events = dict(
            Meter.objects.using(using).filter(active=True).values_list("stripe_id", "event_name")
        )
        offers = {
            product_id: prices_by_interval(product=row, meter_events=meter_events)
            for product_id, row in rows.items()
            if row.active is not False
        }
        cache.set(key, offers, CATALOG_CACHE_SECONDS)
    return offers


# --- One offered price ------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """A price the pricing page offers: its plan, its terms and its interval."""

    product: ProductMetadata
    price_id: str
    terms: PriceTerms
    interval: str
    # The metered prices subscribed to with it (usage billed at each period's end).
    metered: tuple[MeteredPrice, ...] = ()


def _offers() -> list[Offer]:
    products = active_products()
    offers = catalog_offers(
        product_ids=[product.stripe_id for product in products], stamp=catalog_stamp_recent()
    )
    return [
        Offer(
            product=product,
            price_id=row.id,
            terms=row.terms,
            interval=interval,
            metered=row.metered,
        )
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
