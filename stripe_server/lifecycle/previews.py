"""Invoice previews: the invoice a change (or the next renewal) would create, computed by the
lifecycle that would create it, and kept nowhere.

A preview runs the real steps (an update's item changes and prorations, a new subscription's
first invoice, or the renewal at the period's end, `billing_pass.subscription_catch_up`) in a
scratch copy of the store (`Session.scratch`). The maths has one home: a preview and the update
made with the same `proration_date` bill the same lines to the cent, and no invoice, invoice
item, event or balance move outlives the preview.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from stripe_server.context import Context
from stripe_server.frozen_time import FrozenClock
from stripe_server.ids import new_id
from stripe_server.lifecycle.billing_pass import subscription_catch_up
from stripe_server.wire import StripeError, list_object

# Stripe prefixes the ids of preview invoices with this (and of their lines with `il_tmp`).
PREVIEW_PREFIX = "upcoming_in"


@contextmanager
def scratch_context(ctx: Context) -> Iterator[Context]:
    """`ctx` whose writes (objects, events, webhook deliveries) are all undone at the end."""
    scratch = dataclasses.replace(ctx, emitted_event_ids=[])
    with ctx.db.scratch("preview"):
        yield scratch


def next_invoice(scratch: Context, subscription: dict[str, Any]) -> dict[str, Any] | None:
    """In a scratch context: the invoice the subscription's next period end creates, or None
    when none will (it cancels then, or has ended)."""
    known = subscription["latest_invoice"]
    at_period_end = dataclasses.replace(
        scratch, clock=FrozenClock(subscription["current_period_end"])
    )
    subscription_catch_up(at_period_end, subscription, trial_settings_apply=False)
    if subscription["latest_invoice"] == known:
        return None
    return scratch.db.get(subscription["latest_invoice"], "invoice")


def no_upcoming_invoice(customer_id: str) -> StripeError:
    """Stripe's answer when there is nothing to preview."""
    return StripeError(
        f"No upcoming invoices for customer: {customer_id}",
        status=404,
        code="invoice_upcoming_none",
    )


def invoice_as_preview(
    invoice: dict[str, Any], *, proration_date: int, subscription_exists: bool
) -> dict[str, Any]:
    """The invoice made in a scratch context, shown as a preview: a draft with an
    `upcoming_in_` id, no number, links or payments, its `amount_due` what the customer's
    balance would leave due (as finalizing applies it).

    A preview of a new subscription names no subscription (it does not exist); one that shows
    prorations names the moment they were computed for
    (`parent.subscription_details.subscription_proration_date`).
    """
    preview = copy.deepcopy(invoice)
    preview_id = new_id(PREVIEW_PREFIX)
    lines = preview["lines"]["data"]
    for line in lines:
        line["id"] = "il_tmp_" + line["id"].split("_", 1)[1]
        line["invoice"] = preview_id
        if not subscription_exists:
            line["subscription"] = None
            line["parent"]["subscription_item_details"]["subscription"] = None
    preview.update(
        {
            "id": preview_id,
            "lines": list_object(f"/v1/invoices/{preview_id}/lines", lines),
            "billing_reason": "upcoming",
            "status": "draft",
            "number": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "effective_at": None,
            "ending_balance": None,
            "amount_paid": 0,
            "amount_remaining": preview["amount_due"],
            "attempted": False,
            "attempt_count": 0,
            "next_payment_attempt": None,
            "paid": False,
            "webhooks_delivered_at": None,
            "default_payment_method": None,
            "status_transitions": {
                "finalized_at": None,
                "marked_uncollectible_at": None,
                "paid_at": None,
                "voided_at": None,
            },
        }
    )
    if not subscription_exists:
        preview["parent"] = None
        preview["subscription"] = None
    elif any(line["parent"]["subscription_item_details"]["proration"] for line in lines):
        preview["parent"]["subscription_details"]["subscription_proration_date"] = proration_date
    return preview
