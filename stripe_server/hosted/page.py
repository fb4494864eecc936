"""Responses that are not Stripe JSON: HTML pages and redirects, with the shared layout, and
the wording of amounts, dates and intervals for people."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stripe_server.hosted.render import EMPTY, Html, render
from stripe_server.redirect_urls import safe_url

BANNER = "Local test Stripe — no real payments"

# Currencies Stripe bills in whole units (no minor unit).
ZERO_DECIMAL = frozenset(
    [
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
    ]
)
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "cad": "CA$", "aud": "A$"}


@dataclass(frozen=True)
class RawResponse:
    """A response the server writes as is (not JSON-encoded): a page or a redirect."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def money(amount: int, currency: str) -> str:
    """`$12.00`, `€9.50`, `¥500`: an amount in the currency's minor unit, for people."""
    code = currency.lower()
    symbol = _SYMBOLS.get(code, code.upper() + " ")
    if code in ZERO_DECIMAL:
        return f"{symbol}{amount:,}"
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount) / 100:,.2f}"


def price_money(amount: Decimal | int, currency: str) -> str:
    """`$10`, `$12.50`, `¥500`: an amount in the minor unit as a pricing page writes it, with
    no `.00`, and with the fraction of a minor unit a `unit_amount_decimal` may have."""
    code = currency.lower()
    symbol = _SYMBOLS.get(code, code.upper() + " ")
    value = Decimal(amount) if code in ZERO_DECIMAL else Decimal(amount) / 100
    sign, value = ("-" if value < 0 else ""), abs(value)
    if value == value.to_integral_value():
        text = f"{int(value):,}"
    elif code not in ZERO_DECIMAL and value == value.quantize(Decimal("0.01")):
        text = f"{value:,.2f}"
    else:
        text = f"{value.normalize():,f}"
    return f"{sign}{symbol}{text}"


def coupon_off_text(coupon: dict[str, Any]) -> str:
    """`20% off`, `25.5% off`, `$5.00 off`: what a coupon takes off."""
    if coupon["percent_off"] is not None:
        return f"{coupon['percent_off']:g}% off"
    return f"{money(coupon['amount_off'], coupon['currency'])} off"


def interval_text(recurring: dict[str, Any]) -> str:
    """`month`, `3 months`, `year`: how often a recurring price bills."""
    count, interval = recurring["interval_count"], recurring["interval"]
    return interval if count == 1 else f"{count} {interval}s"


_ADVERBS = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}


def per_interval_text(recurring: dict[str, Any]) -> str:
    """`per month`, `per year`, `every 3 months`: after an amount."""
    if recurring["interval_count"] == 1:
        return f"per {recurring['interval']}"
    return f"every {interval_text(recurring)}"


def billed_text(recurring: dict[str, Any]) -> str:
    """`billed monthly`, `billed yearly`, `billed every 3 months` (the words the pricing page
    and the status page use: monthly and yearly, never annual)."""
    if recurring["interval_count"] == 1:
        return f"billed {_ADVERBS[recurring['interval']]}"
    return f"billed every {interval_text(recurring)}"


def date_text(timestamp: int | None) -> str:
    """`March 5, 2026` (UTC); empty for no date."""
    if not timestamp:
        return ""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return f"{moment:%B} {moment.day}, {moment.year}"


def html_page(title: str, body: Html, *, status: int = 200) -> RawResponse:
    """A full page around `body` (rendered from the page's templates)."""
    document = render("layout.html", title=title, banner=BANNER, body=body)
    return RawResponse(
        status,
        document.encode(),
        {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
    )


def message_page(
    title: str, message: str, *, link: str | None = None, status: int = 200
) -> RawResponse:
    """A page that only says something (an expired session, an unknown link)."""
    back = safe_url(link)
    action = render("message_back.html", url=back) if back else EMPTY
    body = render("message.html", title=title, message=message, back=action)
    return html_page(title, body, status=status)


def redirect(url: str) -> RawResponse:
    """303 See Other: after a form POST the browser GETs `url`."""
    return RawResponse(
        303,
        b"",
        {"Location": url, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
    )
