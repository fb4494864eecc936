"""Responses that are not Stripe JSON: HTML pages and redirects, with the shared layout."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from string import Template

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


def escape(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def money(amount: int, currency: str) -> str:
    """`$12.00`, `€9.50`, `¥500`: an amount in the currency's minor unit, for people."""
    code = currency.lower()
    symbol = _SYMBOLS.get(code, code.upper() + " ")
    if code in ZERO_DECIMAL:
        return f"{symbol}{amount:,}"
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount) / 100:,.2f}"


_LAYOUT = Template(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1a1f36;
background:#f6f9fc}
.banner{background:#fff4d6;color:#6b4e00;border-bottom:1px solid #f0d58a;padding:.5rem 1rem;
text-align:center;font-weight:600}
main{max-width:44rem;margin:2rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #e3e8ee;border-radius:.5rem;padding:1.5rem;
margin-bottom:1rem}
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.15rem;margin:0 0 .75rem}
table{width:100%;border-collapse:collapse}td,th{padding:.4rem 0;text-align:left;
vertical-align:top}td.amount,th.amount{text-align:right}
tr.total td{border-top:1px solid #e3e8ee;font-weight:700}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=email],input[type=number]{width:100%;padding:.55rem .65rem;
border:1px solid #c1c9d2;border-radius:.35rem;font:inherit}
.row{display:flex;gap:1rem}.row>div{flex:1}
button,.button{display:inline-block;padding:.6rem 1.1rem;border-radius:.35rem;border:1px solid
#635bff;background:#635bff;color:#fff;font:inherit;font-weight:600;cursor:pointer;
text-decoration:none}
.button.secondary,button.secondary{background:#fff;color:#635bff}
button.danger{background:#df1b41;border-color:#df1b41}
button:focus-visible,.button:focus-visible,a:focus-visible,input:focus-visible{
outline:3px solid #0a2540;outline-offset:2px}
.actions{display:flex;gap:.75rem;flex-wrap:wrap;margin-top:1.25rem;align-items:center}
.error{background:#fde8ec;color:#8a0a25;border:1px solid #f5b5c2;padding:.75rem 1rem;
border-radius:.35rem;margin-bottom:1rem}
.notice{background:#e6f6ed;color:#0b5b32;border:1px solid #a8e0c0;padding:.75rem 1rem;
border-radius:.35rem;margin-bottom:1rem}
.muted{color:#697386}.badge{display:inline-block;padding:0 .5rem;border-radius:1rem;
background:#e3e8ee;font-size:.85rem}
fieldset{border:0;padding:0;margin:0}legend{font-weight:600;margin-bottom:.25rem}
.choice{display:flex;gap:.5rem;align-items:center;font-weight:400;margin:.35rem 0}
</style>
</head>
<body>
<div class="banner" role="note">$banner</div>
<main>
$body
</main>
</body>
</html>
"""
)


def html_page(title: str, body: str, *, status: int = 200) -> RawResponse:
    """A full page; `body` must already be escaped HTML."""
    document = _LAYOUT.substitute(title=escape(title), banner=escape(BANNER), body=body)
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
    action = (
        f'<div class="actions"><a class="button secondary" href="{escape(back)}">Go back</a></div>'
        if back
        else ""
    )
    body = f'<div class="card"><h1>{escape(title)}</h1><p>{escape(message)}</p>{action}</div>'
    return html_page(title, body, status=status)


def redirect(url: str) -> RawResponse:
    """303 See Other: after a form POST the browser GETs `url`."""
    return RawResponse(
        303,
        b"",
        {"Location": url, "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
    )
