"""Turn a stored object into what the API returns: `expand[]` and includable fields.

Stripe returns references as ids unless `expand[]` names them (`product`, `data.product`,
`items.data.price.product`), and some fields appear only when expanded (a price's `tiers`, a
customer's `sources`). Every object leaves the server through `present`, so stored extras never
leak and expansions work the same for retrieves, lists, and event payloads.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from stripe_server.ids import PREFIXES
from stripe_server.store import Session
from stripe_server.wire import list_object

# Fields returned only when expanded, per object type, and how to compute those not stored.
INCLUDABLE: dict[str, frozenset[str]] = {
    "price": frozenset({"tiers", "currency_options"}),
    "customer": frozenset({"sources", "subscriptions", "tax_ids"}),
    # A Checkout Session's line items.
    "item": frozenset({"discounts", "taxes"}),
}

# Stripe refuses to expand deeper than this; it also bounds work on hostile input.
MAX_DEPTH = 4


def present(db: Session, obj: dict[str, Any], expand: list[str] | None = None) -> dict[str, Any]:
    """A deep copy of `obj` with the requested paths expanded and includables resolved."""
    paths = [path.split(".") for path in (expand or []) if path]
    return _apply(db, copy.deepcopy(obj), paths, depth=0)


def _apply(db: Session, obj: Any, paths: list[list[str]], depth: int) -> Any:
    if not isinstance(obj, dict):
        return obj
    if obj.get("object") == "list" and isinstance(obj.get("data"), list):
        inner = [path[1:] for path in paths if path[0] == "data" and len(path) > 1]
        obj["data"] = [_apply(db, item, inner, depth) for item in obj["data"]]
        return obj
    heads = {path[0] for path in paths}
    _resolve_includables(db, obj, heads)
    if depth >= MAX_DEPTH:
        return obj
    for head in heads:
        if head not in obj:
            # Unknown paths are ignored rather than refused: dj-stripe asks for fields that
            # only exist in older API versions (`sources`, `discounts` on some objects).
            continue
        rest = [path[1:] for path in paths if path[0] == head and len(path) > 1]
        obj[head] = _expand_value(db, obj[head], rest, depth + 1)
    return obj


def _expand_value(db: Session, value: Any, rest: list[list[str]], depth: int) -> Any:
    if isinstance(value, str):
        fetched = _lookup(db, value)
        return _apply(db, fetched, rest, depth) if fetched is not None else value
    if isinstance(value, list):
        return [_expand_value(db, item, rest, depth) for item in value]
    if isinstance(value, dict):
        return _apply(db, value, rest, depth)
    return value


def _lookup(db: Session, object_id: str) -> dict[str, Any] | None:
    prefix = object_id.split("_", 1)[0]
    if prefix not in PREFIXES:
        return None
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
