"""A subscription's discounts in dj-stripe's tables: the `Discount` rows (and their coupons)
that `accounts.billing.state` reads.

dj-stripe 2.11 stores an invoice's discounts (and its lines') as `Discount` rows, so it needs
them as objects: invoices are fetched with them expanded, as dj-stripe's own retrieve does
(`Invoice.expand_fields`). A subscription lists its discounts as ids, and dj-stripe ignores the
`customer.discount.*` events, so Portal brings a subscription's in itself: from the
subscription fetched with `expand=discounts` where Portal syncs it, and from those events.
Stripe has no endpoint to retrieve a discount alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from djstripe.models import Coupon, Discount, Invoice, PromotionCode

from portal.stripe_client import stripe_api_key, stripe_json
from pricing.services import coupon_sync, promotion_code_sync

# What to expand when fetching invoices (`invoices.retrieve`) or listing them
# (`invoices.list`) for dj-stripe to sync.
INVOICE_EXPAND: list[str] = list(Invoice.expand_fields)
INVOICE_LIST_EXPAND: list[str] = [f"data.{field}" for field in INVOICE_EXPAND]
# What to expand when fetching a subscription whose discounts are to be synced.
SUBSCRIPTION_EXPAND: list[str] = ["discounts"]


def _plain(data: Any) -> dict[str, Any]:
    """Stripe's JSON, whether given as the SDK's object (not a Mapping) or already plain."""
    return stripe_json(data) if hasattr(data, "to_dict") else dict(data)


def _coupon_id(discount: Mapping[str, Any]) -> str | None:
    """The discount's coupon: `source.coupon` (since 2025-09-30.clover), else `coupon`; an id,
    or the object when expanded."""
    coupon = (discount.get("source") or {}).get("coupon") or discount.get("coupon")
    if isinstance(coupon, Mapping):
        coupon = coupon.get("id")
    return coupon or None


def discount_sync(*, data: Any) -> Discount:
    """Store one Discount object as Stripe sent it, and its coupon and promotion code when this
    database has not got them (made before the webhooks reached Portal, say). Calls Stripe
    only then."""
    plain = _plain(data)
    coupon_id = _coupon_id(plain)
    if coupon_id and not Coupon.objects.filter(id=coupon_id).exists():
        coupon_sync(coupon_id=coupon_id)
    code_id = plain.get("promotion_code")
    if isinstance(code_id, dict):
        code_id = code_id.get("id")
    if code_id and not PromotionCode.objects.filter(id=code_id).exists():
        promotion_code_sync(promotion_code_id=code_id)
    return Discount.sync_from_stripe_data(plain, api_key=stripe_api_key())


def subscription_discounts_sync(*, subscription: Any) -> None:
    """Store the discounts of a subscription (Stripe's JSON or the SDK's object) fetched with
    `expand=discounts`. Ids alone, as a subscription lists them otherwise, are skipped: there
    is nothing to store."""
    for entry in subscription.get("discounts") or []:
        if not isinstance(entry, str):
            discount_sync(data=entry)
