"""What a Stripe price costs, as pure functions: no Django models, no Stripe calls.

Amounts are in the currency's minor unit (cents for USD), as Stripe gives them. The rules follow
Stripe's documentation, so the page quotes what the invoice will charge:

- per unit: `unit_amount` x quantity;
- package (`transform_quantity`): `unit_amount` x (quantity / `divide_by`, rounded up or down);
- tiered, graduated: each unit at the price of the tier it falls in, plus the flat amount of
  every tier reached (1-5 at $10 then $8: 7 units = 5 x $10 + 2 x $8 = $66);
- tiered, volume: every unit at the price of the tier the total falls in, plus that tier's flat
  amount (1-5 at $10 then $8: 7 units = 7 x $8 = $56).

Decimal amounts (`unit_amount_decimal`) are kept exact and the total is rounded to the minor
unit once, half up, as Stripe rounds a line item.

Coupons take their part of that total as Stripe takes it from the line: a percent off is
rounded half up to the minor unit (20% of $66 is $13.20; 15% of 25 cents is 4 cents); an
amount off is taken once, never more than the total, and only in its own currency; either
only for the products in the coupon's `applies_to`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

BillingScheme = Literal["per_unit", "tiered"]
CouponDuration = Literal["once", "repeating", "forever"]
TiersMode = Literal["graduated", "volume"]
Rounding = Literal["up", "down"]

# Currencies Stripe bills in whole units (no cents): https://stripe.com/docs/currencies
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    }
)
CURRENCY_SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "inr": "₹",
    "krw": "₩",
    "aud": "A$",
    "cad": "CA$",
    "nzd": "NZ$",
}


@dataclass(frozen=True)
class Tier:
    """One tier of a tiered price. `up_to` is None for the last ("inf") tier."""

    up_to: int | None
    unit_amount: Decimal = Decimal(0)
    flat_amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class PriceTerms:
    """How a price charges, independent of where it was read from."""

    currency: str
    billing_scheme: BillingScheme = "per_unit"
    unit_amount: Decimal | None = None
    tiers_mode: TiersMode | None = None
    tiers: tuple[Tier, ...] = ()
    divide_by: int | None = None
    round: Rounding | None = None
    interval: str | None = None
    interval_count: int = 1
    # "metered": billed at the period's end for the usage its `meter` (`mtr_...`) counted.
    usage_type: Literal["licensed", "metered"] = "licensed"
    meter: str | None = None

    @property
    def is_metered(self) -> bool:
        return self.usage_type == "metered"

    @property
    def included_quantity(self) -> int:
        """How much usage the price bills nothing for: a graduated price's free first tier."""
        if not self.is_tiered or self.tiers_mode != "graduated" or not self.tiers:
            return 0
        first = self.tiers[0]
        if first.up_to is None or first.unit_amount or first.flat_amount:
            return 0
        return first.up_to

    @property
    def is_package(self) -> bool:
        return self.divide_by is not None

    @property
    def is_tiered(self) -> bool:
        return self.billing_scheme == "tiered"


def _amount(amount: Any, amount_decimal: Any) -> Decimal:
    if amount_decimal not in (None, ""):
        return Decimal(str(amount_decimal))
    return Decimal(amount or 0)


def price_terms_from_stripe(*, data: Mapping[str, Any]) -> PriceTerms:
    """The terms of a price given as Stripe's JSON (a price object, or dj-stripe's stripe_data).

    Tiered prices need their `tiers`, which Stripe returns only with `expand=tiers`.
    """
    scheme = data.get("billing_scheme") or "per_unit"
    transform = data.get("transform_quantity") or {}
    recurring = data.get("recurring") or {}
    tiers = tuple(
        Tier(
            up_to=None if tier.get("up_to") in (None, "inf") else int(tier["up_to"]),
            unit_amount=_amount(tier.get("unit_amount"), tier.get("unit_amount_decimal")),
            flat_amount=_amount(tier.get("flat_amount"), tier.get("flat_amount_decimal")),
        )
        for tier in (data.get("tiers") or [])
    )
    unit_amount = (
        None
        if scheme == "tiered"
        else _amount(data.get("unit_amount"), data.get("unit_amount_decimal"))
    )
    return PriceTerms(
        currency=str(data.get("currency") or "usd").lower(),
        billing_scheme=scheme,
        unit_amount=unit_amount,
        tiers_mode=data.get("tiers_mode"),
        tiers=tiers,
        divide_by=int(transform["divide_by"]) if transform.get("divide_by") else None,
        round=transform.get("round"),
        interval=recurring.get("interval"),
        interval_count=int(recurring.get("interval_count") or 1),
        usage_type="metered" if recurring.get("usage_type") == "metered" else "licensed",
        meter=recurring.get("meter"),
    )


def _to_minor_unit(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _check_quantity(quantity: int) -> None:
    if quantity < 0:
        raise ValueError(f"quantity must not be negative, not {quantity}")


def per_unit_total(*, unit_amount: Decimal | int, quantity: int) -> int:
    """`unit_amount` x `quantity`, rounded to the minor unit."""
    _check_quantity(quantity)
    return _to_minor_unit(Decimal(unit_amount) * quantity)


def package_count(*, quantity: int, divide_by: int, round: Rounding) -> int:
    """How many packages `quantity` units make: ceil (`up`) or floor (`down`) of the division."""
    _check_quantity(quantity)
    if divide_by < 1:
        raise ValueError(f"divide_by must be at least 1, not {divide_by}")
    whole, remainder = divmod(quantity, divide_by)
    return whole + 1 if remainder and round == "up" else whole


def package_total(
    *, unit_amount: Decimal | int, quantity: int, divide_by: int, round: Rounding
) -> int:
    """The price of the packages `quantity` units need (`transform_quantity`)."""
    packages = package_count(quantity=quantity, divide_by=divide_by, round=round)
    return _to_minor_unit(Decimal(unit_amount) * packages)


def _check_tiers(tiers: Sequence[Tier]) -> None:
    if not tiers or tiers[-1].up_to is not None:
        raise ValueError("the last tier must have no upper bound (up_to=inf)")


def graduated_total(*, tiers: Sequence[Tier], quantity: int) -> int:
    """Each unit at its own tier's price, plus the flat amount of every tier reached."""
    _check_quantity(quantity)
    _check_tiers(tiers)
    total = Decimal(0)
    lower = 0
    for tier in tiers:
        if quantity <= lower:
            break
        upper = quantity if tier.up_to is None else min(quantity, tier.up_to)
        total += (upper - lower) * tier.unit_amount + tier.flat_amount
        lower = upper
    return _to_minor_unit(total)


def volume_tier(*, tiers: Sequence[Tier], quantity: int) -> Tier:
    """The tier whose range holds `quantity`."""
    _check_quantity(quantity)
    _check_tiers(tiers)
    for tier in tiers:
        if tier.up_to is None or quantity <= tier.up_to:
            return tier
    raise AssertionError("unreachable: the last tier is unbounded")


def volume_total(*, tiers: Sequence[Tier], quantity: int) -> int:
    """Every unit at the price of the tier the whole quantity falls in, plus its flat amount."""
    if quantity == 0:
        return 0
    tier = volume_tier(tiers=tiers, quantity=quantity)
    return _to_minor_unit(quantity * tier.unit_amount + tier.flat_amount)


def price_total(*, terms: PriceTerms, quantity: int) -> int:
    """What `quantity` units of a price cost per billing period, in the minor unit."""
    if terms.is_tiered:
        if terms.tiers_mode == "volume":
            return volume_total(tiers=terms.tiers, quantity=quantity)
        return graduated_total(tiers=terms.tiers, quantity=quantity)
    unit_amount = terms.unit_amount or Decimal(0)
    if terms.divide_by is not None:
        return package_total(
            unit_amount=unit_amount,
            quantity=quantity,
            divide_by=terms.divide_by,
            round=terms.round or "up",
        )
    return per_unit_total(unit_amount=unit_amount, quantity=quantity)


def annual_savings_percent(*, monthly_total: int, yearly_total: int) -> int | None:
    """How much cheaper a year is on the yearly price than 12 months on the monthly one,
    as a whole percentage (rounded down, so it never overstates); None when not cheaper."""
    twelve_months = monthly_total * 12
    if twelve_months <= 0 or yearly_total >= twelve_months:
        return None
    return int((twelve_months - yearly_total) * 100 // twelve_months)


def currency_minor_units(*, currency: str) -> int:
    """How many decimals the currency has in Stripe (0 for JPY, 2 for USD)."""
    return 0 if currency.lower() in ZERO_DECIMAL_CURRENCIES else 2


def amount_format(*, amount: int | Decimal, currency: str, cents: bool | None = None) -> str:
    """An amount in the minor unit as people read it: 1250 USD -> "$12.50", 1000 -> "$10".

    Whole amounts drop ".00" unless `cents` is True; `cents=False` rounds to whole units.
    Known currencies get their symbol, others their code ("CHF 12.50").
    """
    code = currency.lower()
    decimals = currency_minor_units(currency=code)
    major = Decimal(amount) / (10**decimals)
    if decimals and (cents is False or (cents is None and major == major.to_integral_value())):
        text = f"{major.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"
    elif decimals:
        text = f"{major.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    else:
        text = f"{major.quantize(Decimal(1), rounding=ROUND_HALF_UP):,}"
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol is None:
        return f"{code.upper()} {text}"
    if text.startswith("-"):
        return f"-{symbol}{text[1:]}"
    return f"{symbol}{text}"


def _plural(count: int, unit: str) -> str:
    return unit if count == 1 else f"{unit}s"


def price_terms_describe(*, terms: PriceTerms, unit: str = "seat") -> list[str]:
    """How a price charges, one line per rule, for a card ("Seats 1-5: $10 each")."""
    currency = terms.currency
    if terms.is_tiered:
        lines = []
        lower = 1
        label = unit.capitalize() + "s"
        for tier in terms.tiers:
            span = f"{lower}+" if tier.up_to is None else f"{lower}\N{EN DASH}{tier.up_to}"
            if tier.up_to == lower:
                span = str(lower)
            parts = []
            if tier.unit_amount:
                parts.append(f"{amount_format(amount=tier.unit_amount, currency=currency)} each")
            if tier.flat_amount:
                parts.append(f"{amount_format(amount=tier.flat_amount, currency=currency)} flat")
            lines.append(f"{label} {span}: {' + '.join(parts) or 'free'}")
            lower = (tier.up_to or lower) + 1
        if terms.tiers_mode == "volume":
            lines.append(f"Every {unit} is billed at the rate of the tier your total reaches.")
        return lines
    amount = amount_format(amount=terms.unit_amount or 0, currency=currency)
    if terms.divide_by is not None:
        rounding = "rounded up to" if terms.round != "down" else "rounded down to"
        return [
            f"{amount} per {terms.divide_by} {_plural(terms.divide_by, unit)}",
            f"{unit.capitalize()}s are {rounding} whole packs.",
        ]
    return [f"{amount} per {unit}"]


def unit_amount_format(*, amount: Decimal | int, currency: str) -> str:
    """A price per unit, which may be a fraction of the minor unit: 0.2 cents -> "$0.002",
    150 -> "$1.50"."""
    value = Decimal(amount)
    if value == value.to_integral_value():
        return amount_format(amount=value, currency=currency)
    code = currency.lower()
    major = value / (10 ** currency_minor_units(currency=code))
    text = f"{major.normalize():,f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{code.upper()} {text}" if symbol is None else f"{symbol}{text}"


def metered_terms_describe(*, terms: PriceTerms, unit: str, unit_plural: str) -> str:
    """What a metered price charges for usage, in words: "10,000 API calls included, then
    $0.002 per API call" (a graduated price with a free first tier), "$0.002 per API call",
    or each tier in turn ("$0.01 per API call up to 1,000, then $0.005 per API call")."""
    currency = terms.currency

    def rate(unit_amount: Decimal, flat_amount: Decimal) -> str:
        text = f"{unit_amount_format(amount=unit_amount, currency=currency)} per {unit}"
        if flat_amount:
            text += f" + {amount_format(amount=flat_amount, currency=currency)}"
        return text

    if not terms.is_tiered:
        return rate(terms.unit_amount or Decimal(0), Decimal(0))
    parts: list[str] = []
    for position, tier in enumerate(terms.tiers):
        free = not tier.unit_amount and not tier.flat_amount
        if position == 0 and free and tier.up_to is not None:
            parts.append(f"{tier.up_to:,} {unit if tier.up_to == 1 else unit_plural} included")
            continue
        text = rate(tier.unit_amount, tier.flat_amount)
        if tier.up_to is not None:
            text += f" up to {tier.up_to:,}"
        parts.append(f"then {text}" if parts else text)
    if terms.tiers_mode == "volume":
        parts.append(f"every {unit} at the rate of the tier the total reaches")
    return ", ".join(parts)


# --- Coupons -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CouponTerms:
    """What a coupon takes off, and for how long, independent of where it was read from."""

    id: str
    percent_off: Decimal | None = None
    amount_off: int | None = None
    # The currency of an amount off (a percent off has none).
    currency: str | None = None
    duration: CouponDuration = "once"
    duration_in_months: int | None = None
    # The products it discounts; None: every product.
    product_ids: frozenset[str] | None = None

    def applies_to(self, *, product_id: str | None) -> bool:
        """Whether the coupon discounts this product's prices."""
        return self.product_ids is None or product_id in self.product_ids


def coupon_terms_from_stripe(*, data: Mapping[str, Any]) -> CouponTerms:
    """The terms of a coupon given as Stripe's JSON (a coupon object, or dj-stripe's
    stripe_data). `applies_to` is in it only when it was retrieved with `expand=applies_to`."""
    percent_off = data.get("percent_off")
    amount_off = data.get("amount_off")
    applies_to = data.get("applies_to") or {}
    products = applies_to.get("products") if isinstance(applies_to, Mapping) else None
    duration = data.get("duration") or "once"
    months = data.get("duration_in_months")
    return CouponTerms(
        id=str(data.get("id") or ""),
        percent_off=None if percent_off in (None, "") else Decimal(str(percent_off)),
        amount_off=None if amount_off in (None, "") else int(amount_off),
        currency=(str(data["currency"]).lower() if data.get("currency") else None),
        duration=duration if duration in ("once", "repeating", "forever") else "once",
        duration_in_months=int(months) if months else None,
        product_ids=frozenset(products) if products is not None else None,
    )


def discount_amount(*, total: int, currency: str, coupon: CouponTerms) -> int:
    """What the coupon takes off `total` (one line's amount, in the minor unit): its percentage
    rounded half up, or its amount off capped at the total (0 in another currency)."""
    if total <= 0:
        return 0
    if coupon.percent_off is not None:
        return min(total, _to_minor_unit(Decimal(total) * coupon.percent_off / 100))
    if coupon.amount_off is not None and (coupon.currency or "") == currency.lower():
        return min(total, coupon.amount_off)
    return 0


def discounted_total(*, total: int, currency: str, coupon: CouponTerms) -> int:
    """`total` after the coupon: what Stripe's invoice line comes to with it."""
    return total - discount_amount(total=total, currency=currency, coupon=coupon)


def coupon_amount_text(*, coupon: CouponTerms) -> str:
    """What the coupon takes off, as people read it: "20%" or "$10"."""
    if coupon.percent_off is not None:
        percent = coupon.percent_off.normalize()
        text = f"{percent:f}" if percent != percent.to_integral_value() else f"{int(percent)}"
        return f"{text}%"
    return amount_format(amount=coupon.amount_off or 0, currency=coupon.currency or "usd")


def coupon_duration_text(*, coupon: CouponTerms) -> str:
    """For how long: "once", "forever" or "for 3 months"."""
    if coupon.duration == "repeating" and coupon.duration_in_months:
        months = coupon.duration_in_months
        return f"for {months} {_plural(months, 'month')}"
    return "forever" if coupon.duration == "forever" else "once"


def coupon_describe(*, coupon: CouponTerms) -> str:
    """The coupon in a few words: "20% off for 3 months", "$10 off once", "20% off forever"."""
    return f"{coupon_amount_text(coupon=coupon)} off {coupon_duration_text(coupon=coupon)}"
