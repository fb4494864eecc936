"""Writes for the pricing catalog: demo products (and a demo promotion code and meter) in
Stripe, and syncing Stripe's catalog in: products, prices, coupons, promotion codes and meters.

The only module of the pricing app that calls Stripe, through `portal.stripe_client`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from djstripe.models import Coupon, Price, Product, PromotionCode

from portal.stripe_client import (
    StripeRequestError,
    stripe_api_key,
    stripe_client,
    stripe_json,
    translate_stripe_errors,
)
from pricing.catalog import active_products, catalog_stamp_forget
from pricing.metadata import ProductMetadata
from pricing.models import Meter
from pricing.price_maths import (
    PriceTerms,
    amount_format,
    coupon_describe,
    coupon_terms_from_stripe,
    metered_terms_describe,
    price_terms_describe,
    price_terms_from_stripe,
)

Progress = Callable[[str], None]

# Stripe accepts at most 10 `lookup_keys` in one price list request.
_LOOKUP_KEYS_PER_REQUEST = 10


@dataclass(frozen=True)
class DemoPrice:
    """A price of a demo product, found again by its `lookup_key`."""

    lookup_key: str
    interval: str
    params: dict[str, Any]
    # The event name of the demo meter a metered price bills (None: a licensed price).
    meter: str | None = None


@dataclass(frozen=True)
class DemoProduct:
    """A demo product, created with a fixed id so `pricing/metadata.py` can name it."""

    id: str
    name: str
    description: str
    features: tuple[str, ...]
    prices: tuple[DemoPrice, ...]


def _flat(key: str, interval: str, cents: int) -> DemoPrice:
    return DemoPrice(key, interval, {"unit_amount": cents})


def _graduated(key: str, interval: str, first_five: int, after: int) -> DemoPrice:
    tiers = [{"up_to": 5, "unit_amount": first_five}, {"up_to": "inf", "unit_amount": after}]
    return DemoPrice(
        key, interval, {"billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers}
    )


def _package(key: str, interval: str, per_pack: int) -> DemoPrice:
    return DemoPrice(
        key,
        interval,
        {"unit_amount": per_pack, "transform_quantity": {"divide_by": 10, "round": "up"}},
    )


# The demo meter: API calls, recorded with `usage_record(meter="api_calls")`.
DEMO_METER = {"event_name": "portal_api_calls", "display_name": "API calls"}


def _metered(key: str, interval: str, included: int, tenths_of_a_cent: int) -> DemoPrice:
    """A metered price: `included` calls free each period, then a fraction of a cent each."""
    tiers = [
        {"up_to": included, "unit_amount": 0},
        {"up_to": "inf", "unit_amount_decimal": str(tenths_of_a_cent / 10)},
    ]
    return DemoPrice(
        key,
        interval,
        {"billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers},
        meter=DEMO_METER["event_name"],
    )


DEMO_PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct(
        "prod_portal_basic",
        "Basic",
        "For trying things out on your own.",
        ("1 project", "Community support", "Core features"),
        (_flat("portal_basic_month", "month", 1000), _flat("portal_basic_year", "year", 10000)),
    ),
    DemoProduct(
        "prod_portal_starter",
        "Starter",
        "For small teams getting serious.",
        ("10 projects", "Email support", "Integrations", "Usage reports"),
        (
            _flat("portal_starter_month", "month", 2500),
            _flat("portal_starter_year", "year", 25000),
            # 10,000 calls a month included, then $0.002 a call.
            _metered("portal_starter_api_calls_month", "month", 10_000, 2),
            _metered("portal_starter_api_calls_year", "year", 120_000, 2),
        ),
    ),
    DemoProduct(
        "prod_portal_pro",
        "Pro",
        "For businesses that need more.",
        ("Unlimited projects", "Priority support", "Single sign-on", "Audit log"),
        (
            _flat("portal_pro_month", "month", 5000),
            _flat("portal_pro_year", "year", 50000),
            # 100,000 calls a month included, then $0.001 a call.
            _metered("portal_pro_api_calls_month", "month", 100_000, 1),
            _metered("portal_pro_api_calls_year", "year", 1_200_000, 1),
        ),
    ),
    DemoProduct(
        "prod_portal_team_seats",
        "Team",
        "Pro, priced per member instead of one flat price.",
        (
            "Pro's features, API calls not billed by use",
            "One seat per member: the bill follows your team",
            "Less than Pro for teams of up to 4",
        ),
        (
            _graduated("portal_team_seats_month", "month", 1000, 800),
            _graduated("portal_team_seats_year", "year", 10000, 8000),
        ),
    ),
    DemoProduct(
        "prod_portal_seat_packs",
        "Seat packs",
        "Pro, bought ten seats at a time.",
        (
            "Pro's features, API calls not billed by use",
            "Pro's price for each pack of 10 seats",
            "A new pack starts with the 11th member",
        ),
        (
            _package("portal_seat_packs_month", "month", 5000),
            _package("portal_seat_packs_year", "year", 50000),
        ),
    ),
)


@dataclass(frozen=True)
class DemoPromotion:
    """A demo coupon (with a fixed id) and the customer-facing code that redeems it."""

    coupon_id: str
    code: str
    params: dict[str, Any]


# 20% off for 3 months on every demo plan but Basic, so the pricing page shows both cases.
DEMO_PROMOTION = DemoPromotion(
    coupon_id="portal_launch_20",
    code="LAUNCH20",
    params={
        "name": "Launch offer",
        "percent_off": 20,
        "duration": "repeating",
        "duration_in_months": 3,
        "applies_to": {
            "products": [
                product.id for product in DEMO_PRODUCTS if product.id != "prod_portal_basic"
            ]
        },
    },
)


@dataclass(frozen=True)
class BootstrapItem:
    """One object `demo_products_bootstrap` made or found."""

    kind: str  # "meter", "product", "price", "coupon" or "promotion code"
    id: str
    description: str
    created: bool


def _say(progress: Progress | None, line: str) -> None:
    if progress is not None:
        progress(line)


def _products_existing(client: Any, product_ids: Sequence[str]) -> set[str]:
    with translate_stripe_errors("look up the demo products"):
        page = client.v1.products.list(params={"ids": list(product_ids), "limit": 100})
    return {product.id for product in page.data}


def _product_create(client: Any, product: DemoProduct) -> str:
    with translate_stripe_errors(f"create product {product.id}"):
        created = client.v1.products.create(
            params={
                "id": product.id,
                "name": product.name,
                "description": product.description,
                "marketing_features": [{"name": feature} for feature in product.features],
                "metadata": {"portal_demo": "true"},
            }
        )
    return created.id


def _prices_by_lookup_key(client: Any, lookup_keys: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(lookup_keys), _LOOKUP_KEYS_PER_REQUEST):
        batch = list(lookup_keys[start : start + _LOOKUP_KEYS_PER_REQUEST])
        with translate_stripe_errors("look up the demo prices"):
            page = client.v1.prices.list(
                params={"lookup_keys": batch, "limit": 100, "expand": ["data.tiers"]}
            )
        for price in page.data:
            found[price.lookup_key] = price
    return found


def _meter_bootstrap(client: Any, progress: Progress | None) -> tuple[str, BootstrapItem]:
    """The demo meter (found by its event name among the active meters), and its id."""
    with translate_stripe_errors("list the billing meters"):
        meters = client.v1.billing.meters.list(params={"status": "active", "limit": 100})
        found = next(
            (
                meter
                for meter in meters.auto_paging_iter()
                if meter.event_name == DEMO_METER["event_name"]
            ),
            None,
        )
    created = found is None
    if found is None:
        with translate_stripe_errors("create the demo meter"):
            found = client.v1.billing.meters.create(
                params={**DEMO_METER, "default_aggregation": {"formula": "sum"}}
            )
    _say(progress, f"{'Created' if created else 'Found'} meter {found.id} ({found.event_name})")
    return found.id, BootstrapItem("meter", found.id, DEMO_METER["display_name"], created)


def _price_label(price: dict[str, Any]) -> str:
    terms = price_terms_from_stripe(data=price)
    interval = (price.get("recurring") or {}).get("interval", "one time")
    if terms.is_metered:
        usage = metered_terms_describe(terms=terms, unit="unit", unit_plural="units")
        return f"{usage}, per {interval}"
    if terms.is_tiered or terms.is_package:
        rules = "; ".join(price_terms_describe(terms=terms)[:2])
        return f"{rules}, per {interval}"
    amount = amount_format(amount=terms.unit_amount or 0, currency=terms.currency)
    return f"{amount}/{interval}"


def _coupon_existing(client: Any, coupon_id: str) -> Any | None:
    try:
        with translate_stripe_errors("look up the demo coupon"):
            return client.v1.coupons.retrieve(coupon_id)
    except StripeRequestError as error:
        if error.code == "resource_missing":
            return None
        raise


def _promotion_bootstrap(
    client: Any, promotion: DemoPromotion, progress: Progress | None
) -> list[BootstrapItem]:
    """The demo coupon (found by its id) and an active promotion code for it (found by code)."""
    coupon = _coupon_existing(client, promotion.coupon_id)
    created = coupon is None
    if coupon is None:
        with translate_stripe_errors("create the demo coupon"):
            coupon = client.v1.coupons.create(
                params={"id": promotion.coupon_id, **promotion.params}
            )
    description = coupon_describe(coupon=coupon_terms_from_stripe(data=stripe_json(coupon)))
    items = [BootstrapItem("coupon", coupon.id, description, created)]
    _say(progress, f"{'Created' if created else 'Found'} coupon {coupon.id} ({description})")
    with translate_stripe_errors("look up the demo promotion code"):
        listed = client.v1.promotion_codes.list(
            params={"code": promotion.code, "coupon": coupon.id, "active": True, "limit": 10}
        )
    code = next(iter(listed.data), None)
    created = code is None
    if code is None:
        with translate_stripe_errors("create the demo promotion code"):
            code = client.v1.promotion_codes.create(
                params={
                    "promotion": {"type": "coupon", "coupon": coupon.id},
                    "code": promotion.code,
                }
            )
    items.append(BootstrapItem("promotion code", code.id, code.code, created))
    _say(progress, f"{'Created' if created else 'Found'} promotion code {code.code} ({code.id})")
    return items


def demo_products_bootstrap(
    *,
    products: Sequence[DemoProduct] = DEMO_PRODUCTS,
    promotion: DemoPromotion | None = DEMO_PROMOTION,
    progress: Progress | None = None,
) -> list[BootstrapItem]:
    """Create the demo products and their prices in the configured Stripe, and the demo
    coupon with its promotion code (`LAUNCH20`), unless they exist.

    Products are found by their fixed id, prices by `lookup_key`, the coupon by its id and the
    code by its code, so running it again creates nothing. Refuses to run against live mode:
    demo plans have no place in a live account.
    """
    if settings.STRIPE_LIVE_MODE:
        raise StripeRequestError(
            "Refusing to create demo products in live mode: unset STRIPE_LIVE_MODE, or create "
            "your products in the Stripe Dashboard."
        )
    client = stripe_client()
    items: list[BootstrapItem] = []
    meter_ids: dict[str, str] = {}
    if any(price.meter for product in products for price in product.prices):
        meter_id, item = _meter_bootstrap(client, progress)
        meter_ids[DEMO_METER["event_name"]] = meter_id
        items.append(item)
    existing = _prices_by_lookup_key(
        client, [price.lookup_key for product in products for price in product.prices]
    )
    existing_products = _products_existing(client, [product.id for product in products])
    for product in products:
        created = product.id not in existing_products
        product_id = _product_create(client, product) if created else product.id
        item = BootstrapItem("product", product_id, product.name, created)
        items.append(item)
        _say(progress, f"{'Created' if created else 'Found'} product {product_id} ({product.name})")
        for demo_price in product.prices:
            price = existing.get(demo_price.lookup_key)
            created = price is None
            if price is None:
                recurring: dict[str, Any] = {"interval": demo_price.interval}
                nickname = f"{product.name} ({demo_price.interval}ly)"
                if demo_price.meter is not None:
                    recurring |= {"usage_type": "metered", "meter": meter_ids[demo_price.meter]}
                    nickname = f"{product.name} API calls ({demo_price.interval}ly)"
                with translate_stripe_errors(f"create the price {demo_price.lookup_key}"):
                    price = client.v1.prices.create(
                        params={
                            "product": product_id,
                            "currency": "usd",
                            "lookup_key": demo_price.lookup_key,
                            "nickname": nickname,
                            "recurring": recurring,
                            **demo_price.params,
                        }
                    )
            label = f"{demo_price.lookup_key}: {_price_label(stripe_json(price))}"
            items.append(BootstrapItem("price", price.id, label, created))
            _say(progress, f"  {'Created' if created else 'Found'} price {price.id} ({label})")
    if promotion is not None:
        items += _promotion_bootstrap(client, promotion, progress)
    return items


@dataclass
class CatalogSyncResult:
    """What `stripe_catalog_sync` stored."""

    products: list[Product] = field(default_factory=list)
    prices: list[Price] = field(default_factory=list)
    deactivated_price_ids: list[str] = field(default_factory=list)
    coupons: list[Coupon] = field(default_factory=list)
    promotion_codes: list[PromotionCode] = field(default_factory=list)
    deleted_coupon_ids: list[str] = field(default_factory=list)
    meters: list[Meter] = field(default_factory=list)


def meter_store(*, data: dict[str, Any]) -> Meter:
    """Store a Stripe meter as Stripe gave it (a list, or a `billing.meter.*` event)."""
    meter, _ = Meter.objects.update_or_create(
        stripe_id=data["id"],
        defaults={
            "event_name": data.get("event_name") or "",
            "display_name": data.get("display_name") or "",
            "formula": (data.get("default_aggregation") or {}).get("formula") or "sum",
            "active": data.get("status", "active") == "active",
            "livemode": bool(data.get("livemode")),
        },
    )
    return meter


def coupon_sync(*, coupon_id: str) -> Coupon:
    """Copy one coupon from Stripe into dj-stripe's table (with its `applies_to`, which Stripe
    shows only when expanded)."""
    with translate_stripe_errors(f"read the coupon {coupon_id}"):
        coupon = stripe_client().v1.coupons.retrieve(coupon_id, params={"expand": ["applies_to"]})
        return Coupon.sync_from_stripe_data(stripe_json(coupon), api_key=stripe_api_key())


def promotion_code_sync(*, promotion_code_id: str) -> PromotionCode:
    """Copy one promotion code from Stripe into dj-stripe's table (its times redeemed and
    whether it is active change without an event)."""
    with translate_stripe_errors("read the promotion code"):
        code = stripe_client().v1.promotion_codes.retrieve(promotion_code_id)
        return PromotionCode.sync_from_stripe_data(stripe_json(code), api_key=stripe_api_key())


def stripe_catalog_sync(*, progress: Progress | None = None) -> CatalogSyncResult:
    """Copy every product, price, coupon and promotion code from Stripe into dj-stripe's
    tables, and every billing meter into Portal's.

    Prices are fetched with `expand=tiers`, so tiered prices keep their tiers for the page's
    price maths, and coupons with `expand=applies_to`, the products they discount. Prices the
    database holds as active that Stripe no longer lists (a local Stripe server whose data was
    reset) are marked inactive so the page stops offering them; coupons it no longer lists
    (deleted) are deleted, and their codes with them stop working on the page.
    """
    client = stripe_client()
    api_key = stripe_api_key()
    with translate_stripe_errors("list the products"):
        stripe_products = [
            stripe_json(product)
            for product in client.v1.products.list(params={"limit": 100}).auto_paging_iter()
        ]
    with translate_stripe_errors("list the prices"):
        stripe_prices = [
            stripe_json(price)
            for price in client.v1.prices.list(
                params={"limit": 100, "expand": ["data.tiers"]}
            ).auto_paging_iter()
        ]
    with translate_stripe_errors("list the coupons"):
        stripe_coupons = [
            stripe_json(coupon)
            for coupon in client.v1.coupons.list(
                params={"limit": 100, "expand": ["data.applies_to"]}
            ).auto_paging_iter()
        ]
    with translate_stripe_errors("list the promotion codes"):
        stripe_codes = [
            stripe_json(code)
            for code in client.v1.promotion_codes.list(params={"limit": 100}).auto_paging_iter()
        ]
    with translate_stripe_errors("list the billing meters"):
        stripe_meters = [
            stripe_json(meter)
            for meter in client.v1.billing.meters.list(params={"limit": 100}).auto_paging_iter()
        ]
    result = CatalogSyncResult()
    with transaction.atomic():
        for data in stripe_products:
            result.products.append(Product.sync_from_stripe_data(data, api_key=api_key))
            _say(progress, f"Synchronized product {data['id']}")
        for data in stripe_prices:
            result.prices.append(Price.sync_from_stripe_data(data, api_key=api_key))
            _say(progress, f"Synchronized plan {data['id']}")
        livemode = bool(settings.STRIPE_LIVE_MODE)
        stale = Price.objects.filter(active=True, livemode=livemode).exclude(
            id__in=[data["id"] for data in stripe_prices]
        )
        result.deactivated_price_ids = list(stale.values_list("id", flat=True))
        # Stamped as changed, so cached catalogs (pricing.catalog.catalog_stamp) see it.
        stale.update(active=False, djstripe_updated=timezone.now())
        for data in stripe_coupons:
            result.coupons.append(Coupon.sync_from_stripe_data(data, api_key=api_key))
            _say(progress, f"Synchronized coupon {data['id']}")
        for data in stripe_codes:
            result.promotion_codes.append(
                PromotionCode.sync_from_stripe_data(data, api_key=api_key)
            )
            _say(progress, f"Synchronized promotion code {data['code']} ({data['id']})")
        gone = Coupon.objects.filter(livemode=livemode).exclude(
            id__in=[data["id"] for data in stripe_coupons]
        )
        result.deleted_coupon_ids = list(gone.values_list("id", flat=True))
        gone.delete()
        for data in stripe_meters:
            result.meters.append(meter_store(data=data))
            _say(progress, f"Synchronized meter {data['event_name']} ({data['id']})")
        catalog_stamp_forget()  # an update() sends no signal
    if result.deactivated_price_ids:
        _say(
            progress,
            f"Marked {len(result.deactivated_price_ids)} price(s) inactive: Stripe no longer "
            "has them.",
        )
    if result.deleted_coupon_ids:
        _say(
            progress,
            f"Deleted {len(result.deleted_coupon_ids)} coupon(s): Stripe no longer has them.",
        )
    return result


_SNIPPET_OPTIONAL = (
    "price_displays",
    "is_default",
    "per_seat",
    "group",
    "max_seats",
    "trial_days",
    "trial_requires_card",
    "usage_limits",
)
_SNIPPET_DEFAULTS = {
    name: getattr(ProductMetadata(stripe_id="", slug="", name=""), name)
    for name in _SNIPPET_OPTIONAL
}


def active_products_snippet(*, products: Sequence[Product], prices: Sequence[Price]) -> str:
    """An `ACTIVE_PRODUCTS = [...]` block for `pricing/metadata.py`, from synced products.

    Lists each active product with an active recurring price. Products already in the metadata
    keep what it says about them (slug, words, default); new ones start from Stripe's name,
    description and marketing features.
    """
    known = {product.stripe_id: product for product in active_products()}
    recurring: dict[str, list[PriceTerms]] = {}
    for price in prices:
        terms = price_terms_from_stripe(data=price.stripe_data)
        if price.active and terms.interval is not None:
            recurring.setdefault(price.product_id, []).append(terms)
    lines = ["ACTIVE_PRODUCTS = ["]
    for product in products:
        if product.active is False or product.id not in recurring:
            continue
        data = product.stripe_data
        metadata = known.get(product.id) or ProductMetadata(
            stripe_id=product.id,
            slug=slugify(product.name) or product.id,
            name=product.name,
            description=data.get("description") or "",
            features=[
                feature.get("name", "")
                for feature in data.get("marketing_features") or []
                if feature.get("name")
            ],
            per_seat=any(
                (terms.is_tiered or terms.is_package) and not terms.is_metered
                for terms in recurring[product.id]
            ),
        )
        lines.append("    ProductMetadata(")
        lines.append(f"        stripe_id={metadata.stripe_id!r},")
        lines.append(f"        slug={metadata.slug!r},")
        lines.append(f"        name={metadata.name!r},")
        lines.append(f"        description={metadata.description!r},")
        lines.append(f"        features={metadata.features!r},")
        # The rest only where they differ from the defaults, in the dataclass's order.
        for name in _SNIPPET_OPTIONAL:
            value = getattr(metadata, name)
            if value != _SNIPPET_DEFAULTS[name]:
                lines.append(f"        {name}={value!r},")
        lines.append("    ),")
    lines.append("]")
    return "\n".join(lines)
