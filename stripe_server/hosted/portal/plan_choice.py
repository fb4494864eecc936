"""What a customer may switch a subscription to in the portal, and checking what they chose.

The plans are the prices of the configuration's `features.subscription_update.products` in
the subscription's currency (with `price` in `default_allowed_updates`), plus the current
price. A plan takes a quantity when `quantity` is in `default_allowed_updates` and the price is
licensed and counts something: tiered, a package, a product with a `unit_label`, or a product
whose `adjustable_quantity` is enabled (whose bounds then apply). A per-unit price of a product
that names no unit is a flat plan: its quantity stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stripe_server.context import Context
from stripe_server.hosted.price_text import is_flat, price_terms, unit_name

# The largest quantity the portal takes when the product sets no maximum.
QUANTITY_LIMIT = 9999


@dataclass(frozen=True)
class PlanOption:
    """A plan on the Update plan screen: a price, its product, and whether (and within which
    bounds) its quantity can be chosen."""

    price: dict[str, Any]
    product: dict[str, Any]
    current: bool
    quantity_bounds: tuple[int, int] | None

    @property
    def name(self) -> str:
        return self.product.get("name") or self.price["product"]

    @property
    def terms(self) -> str:
        return price_terms(self.price, self.product)

    @property
    def choosable(self) -> bool:
        """The current plan can be chosen again only to change its quantity."""
        return not self.current or self.quantity_bounds is not None

    def quantity_text(self, quantity: int) -> str:
        """`3 seats`, `1 unit`."""
        return f"{quantity} {unit_name(self.product, quantity)}"


@dataclass(frozen=True)
class PlanChange:
    """The plan and quantity a customer chose for the subscription's (single) item."""

    option: PlanOption
    quantity: int

    def changes_nothing(self, item: dict[str, Any]) -> bool:
        return self.option.current and self.quantity == item["quantity"]

    def item_params(self, item: dict[str, Any]) -> dict[str, str]:
        """The `items[0]` entry of the subscription update that makes this change."""
        params = {"id": item["id"]}
        if not self.option.current:
            params["price"] = self.option.price["id"]
        if self.quantity != item["quantity"]:
            params["quantity"] = str(self.quantity)
        return params


class ChoiceError(Exception):
    """A choice the portal refuses; `field` is the form field at fault (`price`, `quantity`)
    and `option` the plan, when one was recognised."""

    def __init__(self, message: str, field: str, option: PlanOption | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.option = option


def plan_options(
    ctx: Context, configuration: dict[str, Any], subscription: dict[str, Any]
) -> list[PlanOption]:
    """The plans to show, in the configuration's order; the current price is always among
    them (first when the configuration does not list it)."""
    feature = configuration["features"]["subscription_update"]
    allowed = feature["default_allowed_updates"]
    current_id = subscription["items"]["data"][0]["price"]["id"]
    entries = {price_id: entry for entry in feature["products"] for price_id in entry["prices"]}
    ids = [current_id]
    if "price" in allowed:
        listed = [price_id for price_id in entries if _offered(ctx, price_id, subscription)]
        ids = listed if current_id in listed else [current_id, *listed]
    options = []
    for price_id in ids:
        price = ctx.db.get(price_id, "price")
        if price is None:
            continue
        product = ctx.db.get(price["product"], "product") or {}
        bounds = None
        if "quantity" in allowed:
            bounds = _quantity_bounds(price, product, entries.get(price_id))
        options.append(PlanOption(price, product, price_id == current_id, bounds))
    return options


def _offered(ctx: Context, price_id: str, subscription: dict[str, Any]) -> bool:
    price = ctx.db.get(price_id, "price")
    return (
        price is not None
        and price["active"]
        and price["type"] == "recurring"
        and price["currency"] == subscription["currency"]
    )


def _quantity_bounds(
    price: dict[str, Any], product: dict[str, Any], entry: dict[str, Any] | None
) -> tuple[int, int] | None:
    adjustable = (entry or {}).get("adjustable_quantity") or {"enabled": False}
    if price["recurring"].get("usage_type", "licensed") != "licensed":
        return None
    if adjustable["enabled"]:
        return max(1, adjustable["minimum"]), adjustable["maximum"] or QUANTITY_LIMIT
    if is_flat(price, product):
        return None
    return 1, QUANTITY_LIMIT


def plan_change_from_form(
    options: list[PlanOption], item: dict[str, Any], price_id: str, quantity_text: str
) -> PlanChange:
    """The change the form asks for (`ChoiceError` when it cannot be made). Without a
    quantity, the item keeps its own (within the plan's bounds)."""
    if not price_id:
        raise ChoiceError("Choose a plan.", "price")
    option = next((o for o in options if o.price["id"] == price_id), None)
    if option is None:
        raise ChoiceError("Choose one of the plans listed.", "price")
    bounds = option.quantity_bounds
    if bounds is None:
        if quantity_text and quantity_text != str(item["quantity"]):
            raise ChoiceError("The quantity of this plan cannot be changed here.", "price")
        if option.current:
            raise ChoiceError("That is already your plan: choose another one.", "price")
        return PlanChange(option, item["quantity"])
    lowest, highest = bounds
    if not quantity_text:
        return PlanChange(option, min(max(item["quantity"], lowest), highest))
    if not quantity_text.isdigit() or not lowest <= int(quantity_text) <= highest:
        raise ChoiceError(
            f"Enter a whole number of {unit_name(option.product, 2)} from {lowest} to {highest}.",
            "quantity",
            option,
        )
    return PlanChange(option, int(quantity_text))
