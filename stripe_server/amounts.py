"""What a price costs for a quantity: per-unit, package (`transform_quantity`) and tiered.

Pure functions over price objects, following Stripe's documented rules:
- graduated tiers charge each unit at the price of the tier it falls in (1-5 at $10 then $8:
  7 units cost 5 x $10 + 2 x $8 = $66), plus each reached tier's flat amount;
- volume tiers charge every unit at the price of the tier the total falls in, plus that tier's
  flat amount;
- package pricing bills ceil (`round=up`) or floor (`round=down`) of quantity / `divide_by`.

A metered price's quantity is the usage a meter aggregated, which may be fractional (Stripe
takes decimal meter values); the amount is still rounded once, to the minor unit, per line.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

Quantity = int | Decimal


def _decimal(amount: Any, amount_decimal: Any) -> Decimal:
    if amount_decimal not in (None, ""):
        return Decimal(str(amount_decimal))
    return Decimal(amount or 0)


def is_metered(price: dict[str, Any]) -> bool:
    """Whether the price bills measured usage (`recurring[usage_type]=metered`), not a quantity."""
    return (price.get("recurring") or {}).get("usage_type") == "metered"


def unit_amount(price: dict[str, Any]) -> Decimal:
    """A per-unit or package price's amount per unit (or package), in the minor unit;
    `unit_amount_decimal` when it is finer than the minor unit."""
    return _decimal(price["unit_amount"], price.get("unit_amount_decimal"))


def tier_amounts(tier: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """A tier's (unit amount, flat amount), in the minor unit."""
    return (
        _decimal(tier["unit_amount"], tier.get("unit_amount_decimal")),
        _decimal(tier["flat_amount"], tier.get("flat_amount_decimal")),
    )


def round_to_minor_unit(value: Decimal) -> int:
    """`value` rounded half up (away from zero) to a whole minor unit."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def billed_quantity(price: dict[str, Any], quantity: Quantity) -> Quantity:
    """The quantity after `transform_quantity` (package pricing)."""
    transform = price.get("transform_quantity")
    if not transform:
        return quantity
    divide_by = int(transform["divide_by"])
    whole, remainder = divmod(quantity, divide_by)
    return whole + 1 if remainder and transform["round"] == "up" else whole


def tier_breakdown(
    price: dict[str, Any], quantity: Quantity
) -> list[tuple[Quantity, Decimal, Decimal]]:
    """(units, unit amount, flat amount) for each tier a tiered price charges at `quantity`."""
    tiers = price.get("tiers") or []
    if quantity <= 0:
        return []
    if price.get("tiers_mode") == "volume":
        for tier in tiers:
            if tier["up_to"] is None or quantity <= tier["up_to"]:
                return [(quantity, *tier_amounts(tier))]
        raise ValueError("volume tiers do not cover the quantity (last tier must be `inf`)")
    breakdown = []
    lower = 0
    for tier in tiers:
        upper = quantity if tier["up_to"] is None else min(quantity, tier["up_to"])
        units = upper - lower
        if units <= 0:
            break
        breakdown.append((units, *tier_amounts(tier)))
        lower = upper
    return breakdown


def price_amount(price: dict[str, Any], quantity: Quantity) -> int:
    """The amount, in the currency's minor unit, that `quantity` of `price` costs per period."""
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    if price["billing_scheme"] == "tiered":
        total = sum(
            (units * unit + flat for units, unit, flat in tier_breakdown(price, quantity)),
            Decimal(0),
        )
        return round_to_minor_unit(total)
    return round_to_minor_unit(unit_amount(price) * billed_quantity(price, quantity))
