"""What coupons take off an invoice's lines: pure functions, in the currency's minor unit.

The rules (Stripe documents the first two; the allocation of an amount off is ours, below):
- a percent-off coupon takes its percentage of each line it applies to, rounded half up to the
  minor unit line by line (20% of $66.00 is $13.20; 15% of $0.25 is 3.75 cents: 4);
- an amount-off coupon takes its amount once per invoice, but never more than the lines it
  applies to come to. Stripe shows the amount per line (`discount_amounts`) without saying how
  it splits it; here each line gets its share in proportion to its amount, in whole minor units
  rounded down, and the units left over go one each to the lines with the largest remainders
  (the earlier line on a tie), so the shares always add up to the amount taken;
- several discounts apply one after another, each to what the ones before it left;
- a line is discounted only if it is `discountable` (prorations are not) and, for a coupon
  restricted to products (`applies_to.products`), only if its product is one of them. No line
  goes below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from stripe_server.amounts import round_to_minor_unit


@dataclass(frozen=True)
class LineBasis:
    """What a discount needs to know of a line: its amount, its product, and whether it may be
    discounted at all."""

    amount: int
    product: str | None
    discountable: bool = True


@dataclass(frozen=True)
class CouponTerms:
    """What a coupon takes off: a percentage or an amount, for every product or only some."""

    percent_off: Decimal | None = None
    amount_off: int | None = None
    # None: every product; else only these.
    products: frozenset[str] | None = None

    def applies_to(self, line: LineBasis) -> bool:
        return line.discountable and (self.products is None or line.product in self.products)


def coupon_terms(coupon: dict[str, Any]) -> CouponTerms:
    """A coupon object's terms (its `applies_to`, kept even where the API hides it)."""
    applies_to = coupon.get("applies_to")
    return CouponTerms(
        percent_off=None if coupon["percent_off"] is None else Decimal(str(coupon["percent_off"])),
        amount_off=coupon["amount_off"],
        products=frozenset(applies_to["products"]) if applies_to else None,
    )


def percent_of(amount: int, percent: Decimal) -> int:
    """`percent` % of `amount`, rounded half up to the minor unit."""
    return round_to_minor_unit(Decimal(amount) * percent / 100)


def split_in_proportion(total: int, weights: Sequence[int]) -> list[int]:
    """`total` split over `weights` in proportion: whole shares rounded down, then one unit
    each to the largest remainders (earlier first on a tie). The shares add up to `total`."""
    whole = sum(weights)
    if whole <= 0:
        return [0 for _ in weights]
    shares = [total * weight // whole for weight in weights]
    remainders = [total * weight % whole for weight in weights]
    left = total - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda index: (-remainders[index], index))
    for index in by_remainder[:left]:
        shares[index] += 1
    return shares


def discount_lines(lines: Sequence[LineBasis], discounts: Sequence[CouponTerms]) -> list[list[int]]:
    """What each discount, in order, takes off each line: one list per discount, one amount
    per line."""
    remaining = [max(line.amount, 0) for line in lines]
    taken_by_discount = []
    for terms in discounts:
        eligible = [terms.applies_to(line) and remaining[i] > 0 for i, line in enumerate(lines)]
        if terms.percent_off is not None:
            taken = [
                min(percent_of(remaining[i], terms.percent_off), remaining[i]) if eligible[i] else 0
                for i in range(len(lines))
            ]
        else:
            weights = [remaining[i] if eligible[i] else 0 for i in range(len(lines))]
            taken = split_in_proportion(min(terms.amount_off or 0, sum(weights)), weights)
        remaining = [left - took for left, took in zip(remaining, taken, strict=True)]
        taken_by_discount.append(taken)
    return taken_by_discount
