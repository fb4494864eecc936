"""Turn a stored object into what the API returns: `expand[]` and includable fields.

Stripe returns references as ids unless `expand[]` names them (`product`, `data.product`,
`items.data.price.product`), and some fields appear only when expanded (a price's `tiers`, a
customer's `sources`). Every object leaves the server through `present`, so stored extras never
leak and expansions work the same for retrieves, lists, and event payloads.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from stripe_server.store import Session
from stripe_server.wire import StripeError, list_object

# Fields returned only when expanded, per object type, and how to compute those not stored.
INCLUDABLE: dict[str, frozenset[str]] = {
    "price": frozenset({"tiers", "currency_options"}),
    "customer": frozenset({"sources", "subscriptions", "tax_ids"}),
    # A Checkout Session's line items, and their discounts and taxes.
    "checkout.session": frozenset({"line_items"}),
    "item": frozenset({"discounts", "taxes"}),
    # What a coupon applies to (`applies_to[products]`) is shown only when asked for.
    "coupon": frozenset({"applies_to"}),
}

# Stripe refuses paths of more levels than this (`data.source.customer.default_source` is
# the deepest); it also bounds work on hostile input.
MAX_DEPTH = 4


def present(db: Session, obj: dict[str, Any], expand: list[str] | None = None) -> dict[str, Any]:
    """A deep copy of `obj` with the requested paths expanded and includables resolved."""
    paths = [path.split(".") for path in (expand or []) if path]
    for path in paths:
        if len(path) > MAX_DEPTH:
            raise StripeError(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. "
                f"Property: {'.'.join(path)}"
            )
    return _apply(db, copy.deepcopy(obj), paths)


def _not_expandable(path: list[str]) -> StripeError:
    return StripeError(f"This property cannot be expanded ({'.'.join(path)}).")


def _apply(db: Session, obj: Any, paths: list[list[str]]) -> Any:
    if not isinstance(obj, dict):
        return obj
    if obj.get("object") in ("list", "search_result") and isinstance(obj.get("data"), list):
        # A list expands only through its items: `data.product`, never `product`.
        for path in paths:
            if path[0] != "data" or len(path) == 1:
                raise _not_expandable(path)
        inner = [path[1:] for path in paths]
        obj["data"] = [_apply(db, item, inner) for item in obj["data"]]
        return obj
    heads = {path[0] for path in paths}
    _resolve_includables(db, obj, heads)
    for path in paths:
        if not _expandable(db, obj, path):
            raise _not_expandable(path)
    for head in heads & obj.keys():
        rest = [path[1:] for path in paths if path[0] == head and len(path) > 1]
        obj[head] = _expand_value(db, obj[head], rest)
    return obj


def _expandable(db: Session, obj: dict[str, Any], path: list[str]) -> bool:
    """Whether `path` names a reference (an id, a list of ids, or a null one) or goes through
    an embedded object or list toward one; plain values (`status`, `amount`) are not."""
    if path[0] in INCLUDABLE.get(obj.get("object", ""), frozenset()):
        return True
    if path[0] not in obj:
        return False
    value = obj[path[0]]
    if value is None or (isinstance(value, str) and _is_reference(db, value)):
        return True
    if isinstance(value, list):
        return all(item is None or isinstance(item, str | dict) for item in value) and (
            len(path) > 1 or all(not isinstance(item, dict) or "object" in item for item in value)
        )
    if isinstance(value, dict):
        # An embedded object (`items`, `total_details`) is a step toward something
        # expandable; it cannot itself be the thing expanded.
        return len(path) > 1
    return False


_ID_SHAPE = re.compile(r"[a-z]+_[A-Za-z0-9_]{8,}")


def _is_reference(db: Session, value: str) -> bool:
    """An id: of a stored object (products may have custom ids), or shaped like Stripe's."""
    if db.kind_of(value) is not None:
        return True
    return bool(_ID_SHAPE.fullmatch(value)) and any(char.isdigit() for char in value)


def _expand_value(db: Session, value: Any, rest: list[list[str]]) -> Any:
    if isinstance(value, str):
        fetched = _lookup(db, value)
        return _apply(db, fetched, rest) if fetched is not None else value
    if isinstance(value, list):
        return [_expand_value(db, item, rest) for item in value]
    if isinstance(value, dict):
        return _apply(db, value, rest)
    return value


def _lookup(db: Session, object_id: str) -> dict[str, Any] | None:
    return db.get(object_id)


def _resolve_includables(db: Session, obj: dict[str, Any], requested: set[str]) -> None:
    includable = INCLUDABLE.get(obj.get("object", ""), frozenset())
    for field in includable:
        if field not in requested:
            obj.pop(field, None)
            continue
        compute = _COMPUTED.get((obj["object"], field))
        if compute is not None:
            obj[field] = compute(db, obj)
        elif obj.get(field) is None:
            obj.pop(field, None)


def _price_currency_options(_db: Session, price: dict[str, Any]) -> dict[str, Any]:
    option: dict[str, Any] = {
        "custom_unit_amount": None,
        "tax_behavior": price["tax_behavior"],
        "unit_amount": price["unit_amount"],
        "unit_amount_decimal": price["unit_amount_decimal"],
    }
    if price.get("tiers"):
        option["tiers"] = price["tiers"]
    return {price["currency"]: option}


def _customer_subscriptions(db: Session, customer: dict[str, Any]) -> dict[str, Any]:
    subscriptions = [
        sub
        for sub in db.all("subscription")
        if sub["customer"] == customer["id"] and sub["status"] != "canceled"
    ]
    return list_object(f"/v1/customers/{customer['id']}/subscriptions", subscriptions)


_COMPUTED: dict[tuple[str, str], Callable[[Session, dict[str, Any]], Any]] = {
    ("price", "currency_options"): _price_currency_options,
    ("customer", "sources"): lambda _db, c: list_object(f"/v1/customers/{c['id']}/sources", []),
    ("customer", "tax_ids"): lambda _db, c: list_object(f"/v1/customers/{c['id']}/tax_ids", []),
    ("customer", "subscriptions"): _customer_subscriptions,
}


def strip_includables(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy fit for embedding in another object (e.g. a price inside a subscription item)."""
    embedded = copy.deepcopy(obj)
    for field in INCLUDABLE.get(embedded.get("object", ""), frozenset()):
        embedded.pop(field, None)
    return embedded
