"""What moving from one plan to another is: an upgrade, a downgrade, or no change.

The one home of Portal's plan-change rules, which the pricing page (its buttons) and the
plan-change screen (what happens, and when) both read:

- A longer billing interval (monthly to yearly) is an upgrade; a shorter one a downgrade.
- In the same interval, a higher amount per period (another plan, or more seats) is an upgrade,
  a lower one a downgrade; the same amount on another price is a switch, applied like an
  upgrade (at once, prorated: nothing or little changes hands).
- Upgrades apply now, prorated and invoiced at once; downgrades at the end of the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pricing.price_maths import PriceTerms, price_total

ChangeKind = Literal["current", "upgrade", "downgrade", "switch"]

# Roughly how long each interval is, to order them (a year is longer than 11 months).
_INTERVAL_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


@dataclass(frozen=True)
class PlanPosition:
    """A price at a quantity: what a holder pays, or would pay, per period."""

    price_id: str
    terms: PriceTerms
    quantity: int

    @property
    def total(self) -> int:
        """The amount per period, in the currency's minor unit."""
        return price_total(terms=self.terms, quantity=self.quantity)

    @property
    def period_days(self) -> int:
        return _INTERVAL_DAYS.get(self.terms.interval or "month", 30) * self.terms.interval_count


def plan_change_kind(*, current: PlanPosition, new: PlanPosition) -> ChangeKind:
    """How going from `current` to `new` is treated (see the module's rules)."""
    if (current.price_id, current.quantity) == (new.price_id, new.quantity):
        return "current"
    if new.period_days != current.period_days:
        return "upgrade" if new.period_days > current.period_days else "downgrade"
    if new.total != current.total:
        return "upgrade" if new.total > current.total else "downgrade"
    return "switch"


def applies_now(kind: ChangeKind) -> bool:
    """Whether a change of this kind applies now (else at the end of the period)."""
    return kind in ("upgrade", "switch")
