"""Customer balance: its transactions, and the one place an invoice meets the balance.

A customer's `balance` is in the currency's minor unit: negative is credit the customer has,
positive is an amount they owe. Every change to it is a `customer_balance_transaction` whose
`ending_balance` is the balance after it. An invoice takes the balance in when it is finalized
(`invoice_balance_apply`): credit lowers what is due, a debt raises it, and a negative total (a
downgrade's proration credit) is added to the balance instead of being paid out. Voiding an
open invoice gives back what it took (`invoice_balance_unapply`).
"""

from __future__ import annotations

from typing import Any

from stripe_server import events
from stripe_server.context import Context
from stripe_server.ids import new_id

KIND = "customer_balance_transaction"


def balance_split(total: int, balance: int) -> tuple[int, int]:
    """What an invoice of `total` leaves due, and the customer's balance after it.

    The balance and the total are summed: what is positive is due (so `amount_due` never falls
    below 0), what is negative stays on the balance as credit.
    """
    combined = total + balance
    return max(combined, 0), min(combined, 0)


def balance_transaction_record(
    ctx: Context,
    customer: dict[str, Any],
    *,
    amount: int,
    kind: str,
    currency: str,
    invoice_id: str | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Move the customer's balance by `amount` and record it as a transaction of type `kind`.

    Saves the customer but emits nothing: the caller announces the change (an update of
    several fields is one `customer.updated`, as in Stripe).
    """
    customer["balance"] += amount
    if customer["currency"] is None:
        customer["currency"] = currency
    transaction = {
        "amount": amount,
        "checkout_session": None,
        "created": ctx.now(),
        "credit_note": None,
        "currency": currency,
        "customer": customer["id"],
        "customer_account": None,
        "description": description,
        "ending_balance": customer["balance"],
        "id": new_id("cbtxn"),
        "invoice": invoice_id,
        "livemode": False,
        "metadata": metadata or {},
        "object": KIND,
        "type": kind,
    }
    ctx.db.save(KIND, transaction)
    ctx.db.save("customer", customer)
    return transaction


def _move_announced(
    ctx: Context, customer: dict[str, Any], *, amount: int, kind: str, invoice: dict[str, Any]
) -> None:
    before = dict(customer)
    balance_transaction_record(
        ctx,
        customer,
        amount=amount,
        kind=kind,
        currency=invoice["currency"],
        invoice_id=invoice["id"],
    )
    events.emit(ctx, "customer.updated", customer, events.previous_attributes(before, customer))


def invoice_balance_apply(ctx: Context, invoice: dict[str, Any], customer: dict[str, Any]) -> None:
    """Finalizing `invoice`: take the customer's balance into it, as Stripe does.

    `starting_balance` is the balance before, `ending_balance` the balance after, `amount_due`
    (and so the charge) what remains to pay; the move is an `applied_to_invoice` transaction.
    """
    starting = customer["balance"]
    amount_due, ending = balance_split(invoice["total"], starting)
    invoice["starting_balance"] = starting
    invoice["ending_balance"] = ending
    invoice["amount_due"] = amount_due
    invoice["amount_remaining"] = amount_due - invoice["amount_paid"]
    if ending != starting:
        _move_announced(
            ctx, customer, amount=ending - starting, kind="applied_to_invoice", invoice=invoice
        )


def invoice_balance_unapply(ctx: Context, invoice: dict[str, Any]) -> None:
    """Voiding an open `invoice`: what it took from (or added to) the balance goes back."""
    applied = (invoice["ending_balance"] or 0) - invoice["starting_balance"]
    if invoice["ending_balance"] is None or applied == 0:
        return
    customer = ctx.db.get(invoice["customer"], "customer")
    if customer is None:
        return
    _move_announced(ctx, customer, amount=-applied, kind="unapplied_from_invoice", invoice=invoice)
