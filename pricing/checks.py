"""System checks for `pricing/metadata.py`.

The metadata's own shape (unique slugs, known intervals, one default) is checked always. Whether
each product is synced, with a price for every interval, needs the database, so it runs only
when a command asks for database checks: `manage.py check --database default`, and `migrate`
(before migrating). `runserver` and other commands skip it, as Django does for every database
check. On a database where no product is synced yet (before the first `bootstrap_subscriptions`)
it warns instead of failing, so `migrate` is never blocked on a fresh machine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connections

from pricing.catalog import active_intervals, active_meters, active_products
from pricing.metadata import ProductMetadata

_FIX = "Run `manage.py bootstrap_subscriptions` to sync your Stripe products, or fix "
_FIX_METADATA = "pricing/metadata.py."
SUPPORTED_INTERVALS = ("month", "year")
# The longest free trial Stripe accepts (`trial_period_days`).
TRIAL_DAYS_MAX = 730


@register()
def metadata_shape_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """pricing/metadata.py on its own: intervals, unique slugs and ids, at most one default."""
    errors: list[CheckMessage] = []
    intervals = active_intervals()
    for interval in intervals:
        if interval not in SUPPORTED_INTERVALS:
            errors.append(
                Error(
                    f"ACTIVE_PLAN_INTERVALS has {interval!r}; the pricing page offers "
                    "'month' and 'year'.",
                    hint="Edit ACTIVE_PLAN_INTERVALS in pricing/metadata.py.",
                    id="pricing.E003",
                )
            )
    products = active_products()
    for name, values in (
        ("slug", [product.slug for product in products]),
        ("stripe_id", [product.stripe_id for product in products]),
    ):
        for value, count in Counter(values).items():
            if count > 1:
                errors.append(
                    Error(
                        f"ACTIVE_PRODUCTS lists {name} {value!r} {count} times.",
                        hint="Each product appears once in pricing/metadata.py.",
                        id="pricing.E004",
                    )
                )
    defaults = [product.slug for product in products if product.is_default]
    if len(defaults) > 1:
        errors.append(
            Error(
                f"More than one product is the default ({', '.join(defaults)}).",
                hint="Set is_default=True on one product at most in pricing/metadata.py.",
                id="pricing.E005",
            )
        )
    errors.extend(_trial_errors(products))
    errors.extend(_usage_errors(products))
    return errors


def _usage_errors(products: Sequence[ProductMetadata]) -> list[CheckMessage]:
    """Meters with unique names, and usage limits only of meters that exist, of whole
    numbers."""
    errors: list[CheckMessage] = []
    meters = active_meters()
    for name, values in (
        ("slug", [meter.slug for meter in meters]),
        ("event_name", [meter.event_name for meter in meters]),
    ):
        for value, count in Counter(values).items():
            if count > 1:
                errors.append(
                    Error(
                        f"ACTIVE_METERS lists {name} {value!r} {count} times.",
                        hint="Each meter appears once in pricing/metadata.py.",
                        id="pricing.E008",
                    )
                )
    slugs = {meter.slug for meter in meters}
    for product in products:
        for slug, limit in product.usage_limits.items():
            quantity = getattr(limit, "quantity", None)
            if slug not in slugs:
                message = f"Product {product.slug!r} limits meter {slug!r}, not in ACTIVE_METERS."
            elif isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
                message = (
                    f"Product {product.slug!r} limits {slug!r} to {quantity!r}; a limit is a "
                    "whole number >= 0 (a UsageLimit)."
                )
            else:
                continue
            errors.append(
                Error(message, hint="Fix usage_limits in pricing/metadata.py.", id="pricing.E009")
            )
    return errors


def _trial_errors(products: Sequence[ProductMetadata]) -> list[CheckMessage]:
    """Each product's free trial: a whole number of days Stripe accepts, and no card setting
    on a product without a trial."""
    errors: list[CheckMessage] = []
    for product in products:
        days = product.trial_days
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= TRIAL_DAYS_MAX:
            errors.append(
                Error(
                    f"Product {product.slug!r} has trial_days={days!r}; a free trial is a whole "
                    f"number of days from 1 to {TRIAL_DAYS_MAX} (Stripe's limit), or 0 for none.",
                    hint="Fix trial_days in pricing/metadata.py.",
                    id="pricing.E006",
                )
            )
        elif days == 0 and product.trial_requires_card is not True:
            errors.append(
                Error(
                    f"Product {product.slug!r} sets trial_requires_card="
                    f"{product.trial_requires_card!r} but offers no trial (trial_days=0).",
                    hint="Give it trial_days, or remove trial_requires_card, in "
                    "pricing/metadata.py.",
                    id="pricing.E007",
                )
            )
    return errors


def _djstripe_tables_exist(alias: str) -> bool:
    try:
        tables = set(connections[alias].introspection.table_names())
    except DatabaseError:
        return False
    return {"djstripe_product", "djstripe_price"} <= tables


@register(Tags.database)
def metadata_synced_check(
    app_configs: Any = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Every ACTIVE_PRODUCTS stripe_id is synced and has an active price for each interval."""
    if not databases:
        return []
    messages: list[CheckMessage] = []
    for alias in databases:
        messages.extend(_synced_messages(alias))
    return messages


def _synced_messages(alias: str) -> Iterable[CheckMessage]:
    from djstripe.models import Product

    from pricing.catalog import catalog_products, prices_by_interval

    if not _djstripe_tables_exist(alias):
        return []
    products = active_products()
    rows = catalog_products(product_ids=[product.stripe_id for product in products], using=alias)
    if not rows and not Product.objects.using(alias).exists():
        return [
            Warning(
                "No Stripe products are synced yet, so the pricing page is empty.",
                hint="Run `manage.py bootstrap_subscriptions` (and, for demo plans, "
                "`manage.py bootstrap_demo_products` first).",
                id="pricing.W001",
            )
        ]
    messages: list[CheckMessage] = []
    for product in products:
        row = rows.get(product.stripe_id)
        if row is None:
            messages.append(
                Error(
                    f"Product {product.stripe_id} ({product.name}) in ACTIVE_PRODUCTS is not "
                    "synced from Stripe.",
                    hint=_FIX + "its stripe_id in " + _FIX_METADATA,
                    id="pricing.E001",
                )
            )
            continue
        prices = prices_by_interval(product=row)
        for interval in active_intervals():
            if interval not in prices:
                messages.append(
                    Error(
                        f"Product {product.stripe_id} ({product.name}) has no active "
                        f"{interval}ly price, but ACTIVE_PLAN_INTERVALS offers {interval!r}.",
                        hint=_FIX + "ACTIVE_PLAN_INTERVALS in " + _FIX_METADATA,
                        id="pricing.E002",
                    )
                )
    return messages
