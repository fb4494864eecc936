"""A recurring price as a pricing page words it: `$10 per month`, `$10 per seat per month`,
`$25 per 10 seats per month`, `$10 per seat per month for 1-5, then $8` (an en dash between
the bounds of a tier).

The unit is the product's `unit_label` (which Stripe shows in its hosted pages), else "unit".
A per-unit price of a product without a unit label reads as a flat price: it is what one
subscription costs, not a price per something. A metered price bills what was used, in arrears:
`Usage-based, $0.002 per unit`, `Usage-based, $0.002 per unit after 10,000` (a first tier
free), `Usage-based, $5 per 1,000 units`.
"""

from __future__ import annotations

from typing import Any

from stripe_server.amounts import is_metered, tier_amounts, unit_amount
from stripe_server.hosted.page import interval_text, per_interval_text, price_money

_INTERVALS = ("day", "week", "month", "year")
_ADJECTIVES = {"day": "Daily", "week": "Weekly", "month": "Monthly", "year": "Yearly"}


def interval_label(recurring: dict[str, Any]) -> str:
    """`Monthly`, `Yearly`, `Every 3 months`: the heading of a billing interval's plans."""
    if recurring["interval_count"] == 1:
        return _ADJECTIVES[recurring["interval"]]
    return f"Every {interval_text(recurring)}"


def interval_order(recurring: dict[str, Any]) -> tuple[int, int]:
    """Sorts billing intervals from the shortest."""
    return _INTERVALS.index(recurring["interval"]), recurring["interval_count"]


def unit_name(product: dict[str, Any], count: int = 1) -> str:
    """`seat`, `seats`: the product's unit, singular or plural, as counted."""
    label = (product.get("unit_label") or "unit").strip()
    if count == 1:
        return label
    if label.endswith(("s", "x", "z", "ch", "sh")):
        return label + "es"
    if label.endswith("y") and label[-2:-1] not in tuple("aeiou"):
        return label[:-1] + "ies"
    return label + "s"


def is_flat(price: dict[str, Any], product: dict[str, Any]) -> bool:
    """Whether the price reads as one amount for the plan: per-unit, not a package, and the
    product names no unit."""
    return (
        price["billing_scheme"] == "per_unit"
        and not price.get("transform_quantity")
        and not product.get("unit_label")
    )


def price_terms(price: dict[str, Any], product: dict[str, Any]) -> str:
    """What the price costs, worded for people (see the module's examples)."""
    currency = price["currency"]
    per = per_interval_text(price["recurring"])
    if is_metered(price):
        return _usage_terms(price, product, per)
    if price["billing_scheme"] == "tiered":
        return _tiered_terms(price, product, per)
    amount = price_money(unit_amount(price), currency)
    transform = price.get("transform_quantity")
    if transform:
        size = int(transform["divide_by"])
        package = unit_name(product) if size == 1 else f"{size} {unit_name(product, size)}"
        return f"{amount} per {package} {per}"
    if is_flat(price, product):
        return f"{amount} {per}"
    return f"{amount} per {unit_name(product)} {per}"


def _usage_terms(price: dict[str, Any], product: dict[str, Any], per: str) -> str:
    """A metered price: what each unit used costs (see the module's examples)."""
    currency = price["currency"]
    if price["billing_scheme"] != "tiered":
        amount = price_money(unit_amount(price), currency)
        size = int((price.get("transform_quantity") or {}).get("divide_by") or 1)
        if size == 1:
            return f"Usage-based, {amount} per {unit_name(product)}"
        return f"Usage-based, {amount} per {size:,} {unit_name(product, size)}"
    tiers = price.get("tiers") or []
    graduated = price.get("tiers_mode") != "volume"
    if graduated and len(tiers) == 2 and tiers[0]["up_to"] is not None:
        free = tier_amounts(tiers[0]) == (0, 0)
        unit, flat = tier_amounts(tiers[1])
        if free and unit and not flat:
            amount = price_money(unit, currency)
            return f"Usage-based, {amount} per {unit_name(product)} after {tiers[0]['up_to']:,}"
    return f"Usage-based: {_tiered_terms(price, product, per)}"


def _tiered_terms(price: dict[str, Any], product: dict[str, Any], per: str) -> str:
    """Graduated: `$10 per seat per month for 1-5, $9 for 6-10, then $8`.
    Volume (every unit at the price of the tier the total falls in):
    `Volume pricing: $10 per seat per month for 1-5 seats, $8 per seat for 6 or more`."""
    volume = price.get("tiers_mode") == "volume"
    tiers = price.get("tiers") or []
    parts = []
    lower = 1
    unit_said = interval_said = False
    for index, tier in enumerate(tiers):
        unit, flat = tier_amounts(tier)
        words = []
        if unit:
            words.append(price_money(unit, price["currency"]))
            if volume or not unit_said:
                words.append(f"per {unit_name(product)}")
                unit_said = True
        if flat:
            flat_text = price_money(flat, price["currency"])
            words.append(f"plus a {flat_text} flat fee" if unit else f"{flat_text} flat")
        if not words:
            words.append("free")
        elif not interval_said:
            words.append(per)
            interval_said = True
        upper = tier["up_to"]
        last = upper is None or index == len(tiers) - 1
        if volume:
            span = (
                f"{lower} or more"
                if upper is None
                else f"{_span(lower, upper)} {unit_name(product, upper)}"
            )
            parts.append(f"{' '.join(words)} for {span}")
        elif last and index > 0:
            parts.append(f"then {' '.join(words)}")
        elif upper is None:
            parts.append(" ".join(words))
        else:
            parts.append(f"{' '.join(words)} for {_span(lower, upper)}")
        if upper is None:
            break
        lower = upper + 1
    text = ", ".join(parts)
    text = text[:1].upper() + text[1:] if text.startswith("free") else text
    return f"Volume pricing: {text}" if volume else text


def _span(lower: int, upper: int) -> str:
    return str(lower) if lower == upper else f"{lower}\N{EN DASH}{upper}"
