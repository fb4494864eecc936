"""The hosted invoice page and the invoice PDF: an invoice's `hosted_invoice_url` and `invoice_pdf`.

`GET /i/{account}/{token}` shows the invoice (seller, number, customer, dates, lines, totals
with each discount, status); an open invoice has a Pay button for the card on file and a card
form. Paying (`POST` to the same URL) goes through the API's own `POST /v1/invoices/{id}/pay`
handler, so the same events fire and a past-due subscription recovers as it would; it answers
303 back to the page.
A declined card is shown on the page (402) and changes nothing.
`GET /invoice/{account}/{token}/pdf` is the same invoice as a PDF. Unknown links get a 404 page.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

from stripe_server.calls import call_handler
from stripe_server.context import Context
from stripe_server.hosted.card_form import (
    CARD_FIELDS,
    CardEntry,
    CardFormError,
    attach_refusal,
    card_entry_from_form,
    card_entry_save,
)
from stripe_server.hosted.forms import field_errors, form_error, form_value
from stripe_server.hosted.page import (
    RawResponse,
    coupon_off_text,
    date_text,
    html_page,
    message_page,
    money,
    redirect,
)
from stripe_server.hosted.render import EMPTY, Html, join, render
from stripe_server.invoice_links import invoice_for_token
from stripe_server.lifecycle.payments import payment_method_for
from stripe_server.lifecycle.redemptions import DISCOUNT, discount_coupon
from stripe_server.pdf import Text, pdf_document
from stripe_server.resources.invoices import invoice_pay
from stripe_server.routing import route
from stripe_server.wire import StripeError

_STATUS_NOTICES = {
    "paid": "This invoice has been paid. Thank you!",
    "void": "This invoice has been voided; nothing is due.",
    "uncollectible": "This invoice has been marked uncollectible.",
}


@dataclass(frozen=True)
class LineView:
    description: str
    period: str
    quantity: str
    amount: str


@dataclass(frozen=True)
class InvoiceView:
    """What the page and the PDF show, as text: the same content for both."""

    account_name: str
    number: str
    status: str
    customer_email: str
    created: str
    period: str
    due: str
    lines: list[LineView]
    subtotal: str
    # (what it is, what it takes off) for each of the invoice's discounts.
    discounts: list[tuple[str, str]]
    total: str
    amount_due: str
    amount_paid: str
    amount_remaining: str


def _period(start: int | None, end: int | None) -> str:
    return f"{date_text(start)} to {date_text(end)}" if start and end else ""


def _discounts(ctx: Context, invoice: dict[str, Any]) -> list[tuple[str, str]]:
    """`("Spring (20% off)", "-$13.20")` for each discount the invoice has."""
    shown = []
    for taken in invoice["total_discount_amounts"] or []:
        discount = ctx.db.get(taken["discount"], DISCOUNT)
        if discount is None:
            continue
        coupon = discount_coupon(ctx, discount)
        label = f"{coupon['name'] or coupon['id']} ({coupon_off_text(coupon)})"
        shown.append((label, money(-taken["amount"], invoice["currency"])))
    return shown


def invoice_view(ctx: Context, invoice: dict[str, Any]) -> InvoiceView:
    """`invoice` as people read it: dates in UTC, amounts in its currency."""
    currency = invoice["currency"]
    # Automatically charged invoices have no due date: they are due when finalized.
    due = invoice["due_date"] or invoice["status_transitions"]["finalized_at"]
    return InvoiceView(
        account_name=invoice["account_name"] or "",
        number=invoice["number"] or invoice["id"],
        status=invoice["status"].replace("_", " ").capitalize(),
        customer_email=invoice["customer_email"] or invoice["customer_name"] or "",
        created=date_text(invoice["created"]),
        period=_period(invoice["period_start"], invoice["period_end"]),
        due=date_text(due),
        lines=[
            LineView(
                description=line["description"] or "",
                period=_period(line["period"]["start"], line["period"]["end"]),
                quantity=str(line["quantity"] if line["quantity"] is not None else ""),
                amount=money(line["amount"], line["currency"]),
            )
            for line in invoice["lines"]["data"]
        ],
        subtotal=money(invoice["subtotal"], currency),
        discounts=_discounts(ctx, invoice),
        total=money(invoice["total"], currency),
        amount_due=money(invoice["amount_due"], currency),
        amount_paid=money(invoice["amount_paid"], currency),
        amount_remaining=money(invoice["amount_remaining"], currency),
    )


# --- the page -------------------------------------------------------------------------------


def _not_found() -> RawResponse:
    return message_page(
        "Invoice not found",
        "This invoice link is not valid. Ask the business that sent it for a new link.",
        status=404,
    )


def _invoice_or_none(ctx: Context) -> dict[str, Any] | None:
    return invoice_for_token(ctx, ctx.arg("account"), ctx.arg("token"))


def _saved_card(ctx: Context, invoice: dict[str, Any]) -> dict[str, Any] | None:
    """The card `POST /v1/invoices/{id}/pay` would charge when given none."""
    customer = ctx.db.get(invoice["customer"], "customer")
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription_id = details.get("subscription")
    subscription = ctx.db.get(subscription_id or "", "subscription")
    if customer is None or subscription is None:
        return None
    payment_method_id = payment_method_for(ctx, subscription, customer)
    return ctx.db.get(payment_method_id, "payment_method") if payment_method_id else None


def _notice(message: str) -> Html:
    return render("invoice/notice.html", message=message)


def _pay_form(
    ctx: Context,
    invoice: dict[str, Any],
    view: InvoiceView,
    *,
    values: dict[str, str],
    error: str | None,
    error_field: str | None,
) -> Html:
    action = f"/i/{ctx.arg('account')}/{ctx.arg('token')}"
    card = _saved_card(ctx, invoice)
    saved = EMPTY
    if card is not None:
        described = f"{card['card']['brand'].title()} ending in {card['card']['last4']}"
        saved = render(
            "invoice/pay_saved.html", action=action, card=described, amount=view.amount_remaining
        )
    return render(
        "invoice/pay.html",
        amount=view.amount_remaining,
        error=form_error(error, field=error_field),
        saved_card=saved,
        action=action,
        **{name: values.get(name, "") for name in CARD_FIELDS},
        **field_errors(("card_number", "card_expiry", "card_cvc"), error_field, error),
    )


def _page(
    ctx: Context,
    invoice: dict[str, Any],
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    status: int = 200,
) -> RawResponse:
    view = invoice_view(ctx, invoice)
    notice = _STATUS_NOTICES.get(invoice["status"])
    pay = EMPTY
    if invoice["status"] == "open" and invoice["amount_remaining"] > 0:
        pay = _pay_form(
            ctx, invoice, view, values=values or {}, error=error, error_field=error_field
        )
    lines = join(
        [
            render(
                "invoice/line.html",
                description=line.description,
                period=line.period,
                quantity=line.quantity,
                amount=line.amount,
            )
            for line in view.lines
        ]
    )
    body = render(
        "invoice/page.html",
        account_name=view.account_name,
        number=view.number,
        status=view.status,
        notice=_notice(notice) if notice else EMPTY,
        customer_email=view.customer_email,
        created=view.created,
        period=view.period,
        due=view.due,
        lines=lines,
        subtotal=view.subtotal,
        discounts=join(
            render("invoice/discount.html", label=label, amount=amount)
            for label, amount in view.discounts
        ),
        total=view.total,
        amount_due=view.amount_due,
        amount_paid=view.amount_paid,
        amount_remaining=view.amount_remaining,
        pdf_url=f"/invoice/{ctx.arg('account')}/{ctx.arg('token')}/pdf",
        pay=pay,
    )
    return html_page(f"Invoice {view.number}", body, status=status)


@route("GET", "/i/{account}/{token}", public=True)
def invoice_page(ctx: Context) -> RawResponse:
    invoice = _invoice_or_none(ctx)
    return _not_found() if invoice is None else _page(ctx, invoice)


@route("POST", "/i/{account}/{token}", public=True)
def invoice_page_pay(ctx: Context) -> RawResponse:
    """Pay the invoice with the card on file (`pay_with=default`) or the card typed in."""
    invoice = _invoice_or_none(ctx)
    if invoice is None:
        return _not_found()
    if invoice["status"] != "open":
        # Paid or voided meanwhile (another tab, a retry): the page says which.
        return _page(ctx, invoice, status=200 if invoice["status"] == "paid" else 409)
    values = {name: form_value(ctx, name) for name in CARD_FIELDS}
    entry = None
    if form_value(ctx, "pay_with") != "default":
        try:
            entry = card_entry_from_form(values, now=ctx.now())
        except CardFormError as error:
            return _page(
                ctx,
                invoice,
                values=values,
                error=error.message,
                error_field=error.field,
                status=400,
            )
        refusal = attach_refusal(entry)
        if refusal:
            return _page(
                ctx, invoice, values=values, error=refusal, error_field="card_number", status=402
            )
    try:
        with ctx.db.savepoint("invoice_page_pay"):
            params = {}
            if entry is not None:
                params["payment_method"] = _card_attach(ctx, invoice, entry, values["card_name"])
            call_handler(ctx, invoice_pay, params, path_args={"id": invoice["id"]})
    except StripeError as error:
        # The savepoint undid the attempt, as the API's 402 leaves the invoice as it was.
        invoice = ctx.require("invoice", invoice["id"])
        return _page(ctx, invoice, values=values, error=error.message, status=error.status)
    return redirect(f"/i/{ctx.arg('account')}/{ctx.arg('token')}")


def _card_attach(ctx: Context, invoice: dict[str, Any], entry: CardEntry, name: str) -> str:
    """Save the typed card to the invoice's customer (as paying an invoice with it does)."""
    customer = ctx.require("customer", invoice["customer"])
    payment_method = card_entry_save(ctx, entry, customer=customer, name=name)
    return payment_method["id"]


# --- the PDF --------------------------------------------------------------------------------


def invoice_pdf_lines(view: InvoiceView) -> list[list[Text]]:
    """The invoice laid out as PDF text lines: header, details, items, totals."""
    qty_x, total_x, amount_x = 330, 300, 420

    def row(label: str, value: str, *, bold: bool = False) -> list[Text]:
        return [Text(label, bold=bold), Text(value, x=150, bold=bold)]

    def total(label: str, value: str, *, bold: bool = False) -> list[Text]:
        return [Text(label, x=total_x, bold=bold), Text(value, x=amount_x, bold=bold)]

    lines: list[list[Text]] = [
        [Text("Invoice", size=20, bold=True)],
        [Text(view.account_name, size=12)],
        [],
        row("Invoice number", view.number, bold=True),
        row("Status", view.status),
        row("Billed to", view.customer_email),
        row("Date of issue", view.created),
        row("Billing period", view.period),
        row("Date due", view.due),
        [],
        [
            Text("Description", bold=True),
            Text("Qty", x=qty_x, bold=True),
            Text("Amount", x=amount_x, bold=True),
        ],
    ]
    for line in view.lines:
        # Helvetica 10 pt fits about 55 characters before the quantity column.
        first, *rest = textwrap.wrap(line.description, 55) or [""]
        lines.append([Text(first), Text(line.quantity, x=qty_x), Text(line.amount, x=amount_x)])
        lines += [[Text(more)] for more in rest]
        if line.period:
            lines.append([Text(line.period, size=8)])
    lines += [
        [],
        total("Subtotal", view.subtotal),
        *(total(label, amount) for label, amount in view.discounts),
        total("Total", view.total, bold=True),
        total("Amount due", view.amount_due),
        total("Amount paid", view.amount_paid),
        total("Amount remaining", view.amount_remaining),
    ]
    return lines


@route("GET", "/invoice/{account}/{token}/pdf", public=True)
def invoice_pdf(ctx: Context) -> RawResponse:
    invoice = _invoice_or_none(ctx)
    if invoice is None:
        return _not_found()
    view = invoice_view(ctx, invoice)
    document = pdf_document(invoice_pdf_lines(view), title=f"Invoice {view.number}")
    return RawResponse(
        200,
        document,
        {
            "Content-Type": "application/pdf",
            "Content-Disposition": f'inline; filename="Invoice-{view.number}.pdf"',
            "Cache-Control": "no-store",
        },
    )
