"""The mail Portal's webhook handlers send. Each is sent once the processing commits, so a
failed (and later retried) attempt sends nothing."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.billing.state import billing_state, stripe_timestamp
from accounts.billing.trials import trial_end_invoice_preview
from accounts.selectors import absolute_url, holder_for_customer
from pricing.price_maths import amount_format

if TYPE_CHECKING:
    from accounts.models import WebhookEvent

logger = logging.getLogger(__name__)


def _render(name: str, context: dict[str, Any]) -> tuple[str, str]:
    subject = render_to_string(f"accounts/email/{name}_subject.txt", context)
    body = render_to_string(f"accounts/email/{name}.txt", context)
    return " ".join(subject.split()), body


def _customer_id(data: dict[str, Any]) -> str | None:
    customer = data.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return customer or None


def _customer_email(customer_id: str | None) -> str:
    """The customer's email: dj-stripe's copy, else the holder's billing email."""
    if not customer_id:
        return ""
    from djstripe.models import Customer

    customer = Customer.objects.filter(id=customer_id).first()
    if customer is not None and customer.email:
        return customer.email
    holder = holder_for_customer(customer_id=customer_id)
    return holder.billing_email if holder is not None else ""


def _amount(minor_units: int | None, currency: str) -> str:
    if minor_units is None or not currency:
        return ""
    return amount_format(amount=minor_units, currency=currency, cents=True)


def subscription_canceled_mail_admins(*, event: WebhookEvent) -> None:
    """Mail `ADMINS` that a subscription ended: who, which plan, and when."""
    data = event.data_object
    customer_id = _customer_id(data)
    items = (data.get("items") or {}).get("data") or []
    plans = [
        (item.get("price") or {}).get("nickname") or (item.get("price") or {}).get("id", "")
        for item in items
    ]
    ended = data.get("ended_at") or data.get("canceled_at") or event.payload.get("created")
    context = {
        "subscription_id": data.get("id", ""),
        "customer_id": customer_id or "",
        "customer_email": _customer_email(customer_id),
        "plans": ", ".join(plan for plan in plans if plan),
        "ended_at": datetime.fromtimestamp(ended, tz=UTC) if ended else None,
        "reason": (data.get("cancellation_details") or {}).get("reason") or "",
        "event_id": event.stripe_id,
    }
    subject, body = _render("subscription_canceled_admin", context)
    if not settings.ADMINS:
        logger.info("Subscription %s canceled; no ADMINS to tell", context["subscription_id"])
        return
    transaction.on_commit(lambda: mail_admins(subject, body, fail_silently=False))


def payment_failed_mail_customer(*, event: WebhookEvent) -> None:
    """Mail the customer that an invoice payment failed, with a link to update their card."""
    data = event.data_object
    email = data.get("customer_email") or _customer_email(_customer_id(data))
    if not email:
        logger.warning("Invoice %s payment failed; no email address to tell", data.get("id"))
        return
    next_attempt = data.get("next_payment_attempt")
    context = {
        "invoice_number": data.get("number") or data.get("id", ""),
        "amount_due": _amount(data.get("amount_due"), data.get("currency") or ""),
        "next_attempt": datetime.fromtimestamp(next_attempt, tz=UTC) if next_attempt else None,
        "hosted_invoice_url": data.get("hosted_invoice_url") or "",
        "subscription_url": absolute_url(path=reverse("accounts:subscription")),
        "customer_name": data.get("customer_name") or "",
    }
    subject, body = _render("payment_failed", context)
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=False)
    )


def trial_will_end_mail_contacts(*, event: WebhookEvent) -> None:
    """Mail the holder's billing contacts that its free trial ends in three days: when, what
    will be charged, and (with no card on file) where to add one."""
    data = event.data_object
    if data.get("status") != "trialing":
        return  # the trial ended (or the subscription did) before this was processed
    holder = holder_for_customer(customer_id=_customer_id(data) or "")
    contacts = holder.billing_contacts if holder is not None else []
    if not contacts:
        logger.warning("Trial of %s ends soon; no billing contact to tell", data.get("id"))
        return
    state = billing_state(holder=holder)
    invoice = trial_end_invoice_preview(subscription_id=data["id"])
    context = {
        "plan_name": state.name or "your plan",
        "trial_end": stripe_timestamp(data.get("trial_end")),
        "amount_due": _amount(invoice.amount_due, invoice.currency),
        "has_card": state.subscription_id == data["id"] and state.has_card,
        "card": f"{(state.card_brand or 'card').title()} ending in {state.card_last4}"
        if state.card_last4
        else "",
        "subscription_url": absolute_url(path=reverse("accounts:subscription")),
    }
    subject, body = _render("trial_will_end", context)
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, contacts, fail_silently=False)
    )
