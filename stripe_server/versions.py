"""The API versions the server knows, and how objects differ between them.

Every response is rendered for the version its request asked for (`Stripe-Version`, else the
account's default); a webhook is rendered for its endpoint's `api_version`. Objects are stored
in one internal shape: today's, plus the few values an older version needs that today's shape
no longer carries (a subscription's own `current_period_start`/`current_period_end`, an
invoice's top-level `subscription` and `paid`). `render` removes what the asked-for version does
not have and fills in what it has that is not stored.

The versions are the ones stripe-python 15.6.2 knows (its `WebhookEndpoint.api_version` enum)
from `2024-09-30.acacia` on. Older ones are real Stripe versions that this server does not
render; it refuses them, saying so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stripe_server.expand import strip_includables
from stripe_server.plans import plan_from_price
from stripe_server.store import Session
from stripe_server.wire import StripeError

# The SDK's pinned version, and so the account's default and the version of stored events.
ACCOUNT_DEFAULT = "2026-08-26.dahlia"

KNOWN_VERSIONS: tuple[str, ...] = (
    "2024-09-30.acacia",
    "2024-10-28.acacia",
    "2024-11-20.acacia",
    "2024-12-18.acacia",
    "2025-01-27.acacia",
    "2025-02-24.acacia",
    "2025-03-31.basil",
    "2025-04-30.basil",
    "2025-05-28.basil",
    "2025-06-30.basil",
    "2025-07-30.basil",
    "2025-08-27.basil",
    "2025-09-30.clover",
    "2025-10-29.clover",
    "2025-11-17.clover",
    "2025-12-15.clover",
    "2026-01-28.clover",
    "2026-02-25.clover",
    "2026-03-25.dahlia",
    "2026-04-22.dahlia",
    "2026-05-27.dahlia",  # dj-stripe 2.11's default
    "2026-06-24.dahlia",
    "2026-07-29.dahlia",
    "2026-08-26.dahlia",  # stripe-python 15.6.2's pinned version
)
OLDEST = KNOWN_VERSIONS[0]
BASIL = "2025-03-31.basil"
# Discounts name their coupon under `source`, promotion codes under `promotion`, from here on.
CLOVER = "2025-09-30.clover"
# Pending updates carry the metadata they will merge (`pending_update.metadata`) from here on.
PENDING_UPDATE_METADATA = "2026-05-27.dahlia"


def resolve(requested: str | None) -> str:
    """The version a request is served in, or Stripe's 400 for a version that does not exist."""
    if not requested:
        return ACCOUNT_DEFAULT
    version = requested.strip()
    if version in KNOWN_VERSIONS:
        return version
    if _FIRST_STRIPE_VERSION <= _day(version) < OLDEST:
        raise StripeError(
            f"The local Stripe server renders API versions {OLDEST} to {ACCOUNT_DEFAULT}; "
            f"it does not emulate {version}.",
            param="Stripe-Version",
        )
    raise StripeError(f"Invalid Stripe API version: {version}", param="Stripe-Version")


# Stripe's first dated API version; a "version" dated before it, or not a date, is no version.
_FIRST_STRIPE_VERSION = "2011-01-01"


def _day(version: str) -> str:
    """The version's date (`2025-02-24` of `2025-02-24.acacia`), or "" if it has none."""
    day = version.split(".", 1)[0]
    try:
        return dt.date.fromisoformat(day).isoformat() if len(day) == 10 else ""
    except ValueError:
        return ""


@dataclass(frozen=True)
class Change:
    """One backwards-incompatible change to one object type, made in `version`."""

    version: str
    object: str
    # Stored only for older versions: dropped from `version` on.
    removed: tuple[str, ...] = ()
    # Present from `version` on: dropped before it.
    added: tuple[str, ...] = ()
    # Fills in, for versions before `version`, values the stored object does not carry.
    backfill: Callable[[Session, dict[str, Any]], None] | None = None
    summary: str = ""


def _coupon_embedded(db: Session, coupon_id: str | None) -> dict[str, Any] | None:
    """The coupon as objects embedded it before clover: whole (`applies_to` only if expanded)."""
    coupon = db.get(coupon_id or "")
    return None if coupon is None else strip_includables(coupon)


def _discount_before_clover(db: Session, discount: dict[str, Any]) -> None:
    discount["coupon"] = _coupon_embedded(db, (discount.get("source") or {}).get("coupon"))


def _promotion_code_before_clover(db: Session, promotion_code: dict[str, Any]) -> None:
    promotion = promotion_code.get("promotion") or {}
    coupon = promotion.get("coupon")
    # `expand[]=promotion.coupon` already fetched it; before clover it is always whole.
    promotion_code["coupon"] = coupon if isinstance(coupon, dict) else _coupon_embedded(db, coupon)


def _single_discount(db: Session, discounts: list[Any] | None) -> dict[str, Any] | None:
    """The one discount of a subscription or invoice, as the singular `discount` of versions
    before basil showed it (null when there are none or several)."""
    if not discounts or len(discounts) != 1:
        return None
    only = discounts[0]
    discount = db.get(only, "discount") if isinstance(only, str) else dict(only)
    if discount is None:
        return None
    _discount_before_clover(db, discount)
    discount.pop("source", None)
    return discount


def _invoice_before_basil(db: Session, invoice: dict[str, Any]) -> None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    invoice.update(
        {
            "application_fee_amount": None,
            "charge": None,
            "discount": _single_discount(db, invoice.get("discounts")),
            "paid_out_of_band": False,
            "payment_intent": None,
            "quote": None,
            "subscription_details": {"metadata": details.get("metadata")},
            "subscription_proration_date": details.get("subscription_proration_date"),
            "tax": None,
            "total_tax_amounts": [],
            "transfer_data": None,
        }
    )
    invoice.setdefault("subscription", details.get("subscription"))
    invoice.setdefault("paid", invoice.get("status") == "paid")


def _price_before_basil(db: Session, holder: dict[str, Any]) -> dict[str, Any] | None:
    details = (holder.get("pricing") or {}).get("price_details") or {}
    price = db.get(details.get("price") or "", "price")
    if price is None:
        return None
    for includable in ("tiers", "currency_options"):
        price.pop(includable, None)
    return price


def _plan_of(price: dict[str, Any] | None) -> dict[str, Any] | None:
    if price is None or price.get("recurring") is None:
        return None
    return {**plan_from_price(price), "aggregate_usage": None}


def _line_before_basil(db: Session, line: dict[str, Any]) -> None:
    details = (line.get("parent") or {}).get("subscription_item_details") or {}
    price = _price_before_basil(db, line)
    invoice_item = details.get("invoice_item")
    line.update(
        {
            "amount_excluding_tax": line["amount"],
            "invoice_item": invoice_item,
            "plan": _plan_of(price),
            "price": price,
            "proration": bool(details.get("proration")),
            "proration_details": details.get("proration_details") or {"credited_items": None},
            "subscription_item": details.get("subscription_item"),
            "tax_amounts": [],
            "tax_rates": [],
            "type": "invoiceitem" if invoice_item else "subscription",
            "unit_amount_excluding_tax": (line.get("pricing") or {}).get("unit_amount_decimal"),
        }
    )


def _invoice_item_before_basil(db: Session, item: dict[str, Any]) -> None:
    details = (item.get("parent") or {}).get("subscription_details") or {}
    price = _price_before_basil(db, item)
    item.update(
        {
            "plan": _plan_of(price),
            "price": price,
            "subscription": details.get("subscription"),
            "subscription_item": details.get("subscription_item"),
            "unit_amount": price["unit_amount"] if price else None,
            "unit_amount_decimal": (item.get("pricing") or {}).get("unit_amount_decimal"),
        }
    )


def _subscription_before_basil(db: Session, subscription: dict[str, Any]) -> None:
    subscription["discount"] = _single_discount(db, subscription.get("discounts"))


def _subscription_before_pending_update_metadata(_db: Session, subscription: dict) -> None:
    pending = subscription.get("pending_update")
    if isinstance(pending, dict):
        pending.pop("metadata", None)


def _checkout_session_before_basil(_db: Session, session: dict[str, Any]) -> None:
    session["shipping_details"] = None


CHANGES: tuple[Change, ...] = (
    Change(
        BASIL,
        "subscription",
        removed=("current_period_start", "current_period_end"),
        backfill=_subscription_before_basil,
        summary="The period moved onto each item; `discount` gave way to `discounts`.",
    ),
    Change(
        PENDING_UPDATE_METADATA,
        "subscription",
        backfill=_subscription_before_pending_update_metadata,
        summary="A pending update carries the metadata it will merge (`pending_update.metadata`).",
    ),
    Change(
        BASIL,
        "subscription_item",
        added=("current_period_start", "current_period_end"),
        summary="Each item carries its own current period.",
    ),
    Change(
        BASIL,
        "invoice",
        removed=("subscription", "paid"),
        added=("parent", "amount_overpaid", "total_taxes", "confirmation_secret", "payments"),
        backfill=_invoice_before_basil,
        summary=(
            "An invoice's subscription is `parent.subscription_details.subscription`; "
            '`paid` is `status == "paid"`; `charge`, `payment_intent`, `discount`, `tax`, '
            "`total_tax_amounts`, `subscription_details` and others are gone."
        ),
    ),
    Change(
        BASIL,
        "line_item",
        added=("parent", "pricing", "taxes", "pretax_credit_amounts"),
        backfill=_line_before_basil,
        summary=(
            "Lines name their price under `pricing.price_details` and their subscription item "
            "under `parent`; `type`, `price`, `plan`, `proration` and `tax_amounts` are gone."
        ),
    ),
    Change(
        BASIL,
        "invoiceitem",
        added=("parent", "pricing", "net_amount", "proration_details"),
        backfill=_invoice_item_before_basil,
        summary=(
            "Invoice items name their price under `pricing` and their subscription under "
            "`parent`; `price`, `plan`, `subscription`, `unit_amount` are gone."
        ),
    ),
    Change(
        CLOVER,
        "discount",
        added=("source",),
        backfill=_discount_before_clover,
        summary="A discount names its coupon under `source`; before, the whole `coupon`.",
    ),
    Change(
        CLOVER,
        "promotion_code",
        added=("promotion",),
        backfill=_promotion_code_before_clover,
        summary="A promotion code names its coupon under `promotion`; before, the whole `coupon`.",
    ),
    Change(
        BASIL,
        "checkout.session",
        added=("collected_information", "optional_items", "permissions", "presentment_details"),
        backfill=_checkout_session_before_basil,
        summary="`shipping_details` moved to `collected_information.shipping_details`.",
    ),
)

_CHANGES_BY_OBJECT: dict[str, tuple[Change, ...]] = {}
for _change in CHANGES:
    _CHANGES_BY_OBJECT[_change.object] = (*_CHANGES_BY_OBJECT.get(_change.object, ()), _change)


def render(db: Session, value: Any, version: str) -> Any:
    """`value` (a presented object, list or event; changed in place) as `version` shows it.

    An event's `data` keeps the version the event was rendered in (its `api_version`), as
    Stripe's events do, whatever version retrieves it.
    """
    if isinstance(value, list):
        for item in value:
            render(db, item, version)
        return value
    if not isinstance(value, dict):
        return value
    kind = value.get("object")
    if kind == "event":
        render_event_data(db, value, value.get("api_version") or ACCOUNT_DEFAULT)
        return value
    for nested in value.values():
        render(db, nested, version)
    for change in _CHANGES_BY_OBJECT.get(kind or "", ()):
        _apply(db, change, value, version)
    return value


def render_event_data(db: Session, event: dict[str, Any], version: str) -> dict[str, Any]:
    """Render an event's `data` for `version` (a webhook endpoint's), stamping the version."""
    event["api_version"] = version
    data = event.get("data") or {}
    obj = data.get("object")
    render(db, obj, version)
    previous = data.get("previous_attributes")
    if isinstance(obj, dict) and isinstance(previous, dict):
        for change in _CHANGES_BY_OBJECT.get(obj.get("object") or "", ()):
            hidden = change.removed if version >= change.version else change.added
            for key in hidden:
                previous.pop(key, None)
    return event


def _apply(db: Session, change: Change, obj: dict[str, Any], version: str) -> None:
    if version >= change.version:
        for key in change.removed:
            obj.pop(key, None)
        return
    if change.backfill is not None:
        change.backfill(db, obj)
    for key in change.added:
        obj.pop(key, None)
