"""Where a finalized invoice can be seen and downloaded: its hosted page and its PDF.

Stripe gives an invoice `hosted_invoice_url` (invoice.stripe.com/i/{account}/{token}) and
`invoice_pdf` (pay.stripe.com/invoice/{account}/{token}/pdf) when it is finalized; drafts have
neither. Anyone holding the link may view and pay, so the token is a fresh random secret, not
the invoice id; the server remembers which invoice each token opens.
"""

from __future__ import annotations

from typing import Any

from stripe_server.context import Context
from stripe_server.ids import new_secret

_LINK_KEY = "invoice_link:"


def invoice_links_set(ctx: Context, invoice: dict[str, Any]) -> None:
    """Give `invoice` (being finalized) a new token and the two URLs built from it."""
    token = new_secret("test")
    ctx.db.meta_set(_LINK_KEY + token, invoice["id"])
    invoice["hosted_invoice_url"] = f"{ctx.base_url}/i/{ctx.account_id}/{token}"
    invoice["invoice_pdf"] = f"{ctx.base_url}/invoice/{ctx.account_id}/{token}/pdf"


def invoice_for_token(ctx: Context, account_id: str, token: str) -> dict[str, Any] | None:
    """The invoice a link's token opens, or None (unknown token, other account, deleted)."""
    if account_id != ctx.account_id:
        return None
    invoice_id = ctx.db.meta_get(_LINK_KEY + token)
    return ctx.db.get(invoice_id, "invoice") if invoice_id else None
