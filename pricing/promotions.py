"""Promotion codes, as the pricing page and Checkout meet them (`/pricing/?promo=LAUNCH20`):
which synced code was typed, whether it can be used now, and what it takes off a plan.

Reads dj-stripe's `PromotionCode` and `Coupon` rows only, never Stripe: one query for a code,
none when it was found before under the same catalog stamp (which changes with every coupon
and promotion code row). Whether a found code can be used is decided afresh on every call,
since time alone expires it. Stripe checks the code again when Checkout starts, so a code used
up since the last sync is refused there, in Stripe's words.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from django.core.cache import cache
from django.db.models import OuterRef, Subquery, TextField
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone
from djstripe.models import Coupon, PromotionCode

from pricing.catalog import CATALOG_CACHE_SECONDS, catalog_stamp_recent
from pricing.price_maths import (
    CouponTerms,
    amount_format,
    coupon_describe,
    coupon_terms_from_stripe,
    discounted_total,
)

# What a customer-facing code may be made of (Stripe's alphabet), and how long it may be.
PROMO_CODE_PATTERN = re.compile(r"[A-Za-z0-9-]+")
PROMO_CODE_MAX_LENGTH = 50
PROMO_CODE_ERROR = (
    "A promotion code is made of letters, digits and dashes (such as LAUNCH20), "
    f"at most {PROMO_CODE_MAX_LENGTH} of them."
)

Refusal = Literal["unknown", "inactive", "expired", "used_up"]


def promo_code_clean(raw: str | None) -> str | None:
    """The code as typed, trimmed, when it has the shape of a promotion code; else None."""
    code = (raw or "").strip()
    if not code or len(code) > PROMO_CODE_MAX_LENGTH or not PROMO_CODE_PATTERN.fullmatch(code):
        return None
    return code


@dataclass(frozen=True)
class Promotion:
    """A synced promotion code and its coupon, as they were when last synced."""

    promotion_code_id: str
    # As Stripe spells it (people may type it in any case).
    code: str
    coupon: CouponTerms
    active: bool
    expires_at: datetime | None
    max_redemptions: int | None
    times_redeemed: int
    # Only this customer may use it (None: anyone).
    customer_id: str | None
    first_time_transaction: bool
    minimum_amount: int | None
    minimum_amount_currency: str | None
    # The coupon's own limits: gone (deleted), `redeem_by`, `max_redemptions`.
    coupon_exists: bool
    coupon_valid: bool
    coupon_redeem_by: datetime | None
    coupon_max_redemptions: int | None
    coupon_times_redeemed: int

    @property
    def terms_text(self) -> str:
        """ "20% off for 3 months"."""
        return coupon_describe(coupon=self.coupon)

    @property
    def description(self) -> str:
        """ "20% off for 3 months with LAUNCH20"."""
        return f"{self.terms_text} with {self.code}"

    def refusal(self, *, now: datetime, customer_id: str | None = None) -> Refusal | None:
        """Why the code cannot be used now (by this customer), or None if it can."""
        if self.customer_id is not None and self.customer_id != customer_id:
            return "unknown"
        if not self.coupon_exists:
            return "inactive"
        if (self.expires_at is not None and now >= self.expires_at) or (
            self.coupon_redeem_by is not None and now >= self.coupon_redeem_by
        ):
            return "expired"
        if (self.max_redemptions is not None and self.times_redeemed >= self.max_redemptions) or (
            self.coupon_max_redemptions is not None
            and self.coupon_times_redeemed >= self.coupon_max_redemptions
        ):
            return "used_up"
        if not self.active or not self.coupon_valid:
            return "inactive"
        return None

    def minimum_text(self) -> str | None:
        """ "an order of at least $100.00", when the code has a minimum amount."""
        if not self.minimum_amount:
            return None
        money = amount_format(
            amount=self.minimum_amount, currency=self.minimum_amount_currency or "usd", cents=True
        )
        return f"an order of at least {money}"


def _timestamp(value: Any) -> datetime | None:
    return None if value in (None, "") else datetime.fromtimestamp(int(value), tz=UTC)


def _coupon_id(data: dict[str, Any]) -> str | None:
    """The coupon a code is for: `promotion.coupon` (since 2025-09-30.clover), else `coupon`;
    an id, or the object when expanded."""
    coupon = (data.get("promotion") or {}).get("coupon") or data.get("coupon")
    if isinstance(coupon, dict):
        coupon = coupon.get("id")
    return coupon or None


def _promotion(data: dict[str, Any], coupon: dict[str, Any] | None) -> Promotion:
    restrictions = data.get("restrictions") or {}
    customer = data.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    coupon_data = coupon or {"id": _coupon_id(data) or ""}
    return Promotion(
        promotion_code_id=data["id"],
        code=data.get("code") or "",
        coupon=coupon_terms_from_stripe(data=coupon_data),
        active=bool(data.get("active")),
        expires_at=_timestamp(data.get("expires_at")),
        max_redemptions=data.get("max_redemptions"),
        times_redeemed=int(data.get("times_redeemed") or 0),
        customer_id=customer or None,
        first_time_transaction=bool(restrictions.get("first_time_transaction")),
        minimum_amount=restrictions.get("minimum_amount"),
        minimum_amount_currency=restrictions.get("minimum_amount_currency"),
        coupon_exists=coupon is not None,
        coupon_valid=bool(coupon.get("valid", True)) if coupon is not None else False,
        coupon_redeem_by=_timestamp((coupon or {}).get("redeem_by")),
        coupon_max_redemptions=(coupon or {}).get("max_redemptions"),
        coupon_times_redeemed=int((coupon or {}).get("times_redeemed") or 0),
    )


def _promotions_with_code(code: str) -> list[Promotion]:
    """Every synced promotion code spelled `code` in any case, with its coupon (one query)."""
    coupon_ref = KeyTextTransform(
        "coupon", KeyTransform("promotion", "stripe_data"), output_field=TextField()
    )
    coupons = Coupon.objects.filter(id=OuterRef("coupon_ref")).values("stripe_data")[:1]
    rows = (
        PromotionCode.objects.filter(stripe_data__code__iexact=code)
        .annotate(coupon_ref=coupon_ref, coupon_data=Subquery(coupons))
        .order_by("-created", "-pk")
    )
    return [_promotion(row.stripe_data, row.coupon_data) for row in rows]


def promotions_with_code(*, code: str, stamp: str | None = None) -> list[Promotion]:
    """The synced promotion codes spelled `code` (any case), newest first: cached under the
    catalog stamp when there are any (a code nobody has is not remembered)."""
    stamp = stamp if stamp is not None else catalog_stamp_recent()
    digest = hashlib.sha256(f"{stamp}|{code.lower()}".encode()).hexdigest()
    key = f"pricing:promotions:{digest}"
    found = cache.get(key)
    if found is None:
        found = _promotions_with_code(code)
        if found:
            cache.set(key, found, CATALOG_CACHE_SECONDS)
    return found


@dataclass(frozen=True)
class PromotionLookup:
    """What a typed code turned out to be: a promotion that can be used, or why not."""

    typed: str
    promotion: Promotion | None
    refusal: Refusal | None

    @property
    def usable(self) -> Promotion | None:
        return self.promotion if self.refusal is None else None

    @property
    def state(self) -> str:
        """What the page shows depends on (for cache keys and ETags)."""
        if self.promotion is not None and self.refusal is None:
            return f"ok:{self.promotion.promotion_code_id}"
        return f"refused:{self.refusal}:{self.typed.lower()}"

    @property
    def reason(self) -> str | None:
        """Why the code cannot be used, in a few words ("The code X has expired"); None when
        it can."""
        name = self.promotion.code if self.promotion is not None else self.typed
        return {
            None: None,
            "unknown": f"We don't know the code {name}",
            "inactive": f"The code {name} is no longer available",
            "expired": f"The code {name} has expired",
            "used_up": f"The code {name} has been used as many times as it can be",
        }[self.refusal]

    @property
    def message(self) -> str | None:
        """Why the code is not applied, for the pricing page; None when it is."""
        if self.refusal is None:
            return None
        if self.refusal == "unknown":
            return f"{self.reason}. Check its spelling: the prices below are without a discount."
        return f"{self.reason}, so the prices below are without a discount."


def promotion_lookup(
    *,
    code: str,
    customer_id: str | None = None,
    stamp: str | None = None,
    now: datetime | None = None,
) -> PromotionLookup:
    """The promotion code `code` (any case) names for this customer now: the usable one if any
    (a customer's own before everyone's), else the newest, with why it cannot be used."""
    now = now or timezone.now()
    found = promotions_with_code(code=code, stamp=stamp)
    judged = [
        (promotion, promotion.refusal(now=now, customer_id=customer_id)) for promotion in found
    ]
    usable = [promotion for promotion, refusal in judged if refusal is None]
    if usable:
        own = [promotion for promotion in usable if promotion.customer_id is not None]
        return PromotionLookup(typed=code, promotion=(own or usable)[0], refusal=None)
    known = [(promotion, refusal) for promotion, refusal in judged if refusal != "unknown"]
    if not known:
        return PromotionLookup(typed=code, promotion=None, refusal="unknown")
    promotion, refusal = known[0]
    return PromotionLookup(typed=code, promotion=promotion, refusal=refusal)


@dataclass(frozen=True)
class PlanDiscount:
    """What a usable promotion does to one plan's price: the price with it, or why it does not
    apply."""

    promotion: Promotion
    # The plan's total after the discount (None when it does not apply).
    total: int | None
    # Why it does not apply ("This code does not apply to Basic"); None when it does.
    note: str | None = None

    @property
    def applies(self) -> bool:
        return self.total is not None


def plan_discount(
    *, promotion: Promotion, product_id: str, plan_name: str, total: int, currency: str
) -> PlanDiscount:
    """The promotion applied to `total` (a plan's price for its seats, in the minor unit) as
    Stripe's invoice will apply it: only to the coupon's products, an amount off only in its
    currency, and not below the code's minimum amount."""
    coupon = promotion.coupon
    not_this_plan = PlanDiscount(
        promotion=promotion, total=None, note=f"This code does not apply to {plan_name}"
    )
    if not coupon.applies_to(product_id=product_id):
        return not_this_plan
    if coupon.amount_off is not None and (coupon.currency or "") != currency.lower():
        return not_this_plan
    minimum = promotion.minimum_amount
    if minimum and (
        (promotion.minimum_amount_currency or "").lower() != currency.lower() or total < minimum
    ):
        return PlanDiscount(
            promotion=promotion,
            total=None,
            note=f"{promotion.code} needs {promotion.minimum_text()}",
        )
    return PlanDiscount(
        promotion=promotion,
        total=discounted_total(total=total, currency=currency, coupon=coupon),
    )
