"""Portal's own webhook handlers: link subscriptions to their holders, and send the mail.

dj-stripe has already synced the event's objects (re-retrieved from Stripe, so their state is
Stripe's current one whatever order events arrive in) when these run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from accounts.webhooks import emails
from accounts.webhooks.handlers import webhook_handler

if TYPE_CHECKING:
    from accounts.webhooks.models import WebhookEvent

logger = logging.getLogger(__name__)


@webhook_handler("checkout.session.completed")
def checkout_session_completed_link_holder(event: WebhookEvent) -> None:
    """Link the customer and subscription a Checkout created to the holder that started it."""
    from accounts.services import CheckoutSessionUnknownError, checkout_session_sync

    try:
        checkout_session_sync(session_id=event.data_object["id"])
    except CheckoutSessionUnknownError:
        # A session of another integration on the same Stripe account: not ours to link.
        logger.info("Checkout session %s was not started by Portal", event.data_object["id"])


@webhook_handler("customer.subscription.*")
def subscription_changed_refresh_holder(event: WebhookEvent) -> None:
    """Point the customer's holder at its current subscription."""
    from accounts.services import holder_subscription_refresh

    customer_id = event.data_object.get("customer")
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id")
    if customer_id:
        holder_subscription_refresh(customer_id=customer_id)


@webhook_handler("customer.subscription.deleted")
def subscription_canceled_mail_admins(event: WebhookEvent) -> None:
    """Tell the project's admins (`ADMINS`) that a subscription was canceled."""
    emails.subscription_canceled_mail_admins(event=event)


@webhook_handler("invoice.payment_failed")
def payment_failed_mail_customer(event: WebhookEvent) -> None:
    """Tell the customer their payment failed, and where to update their card."""
    emails.payment_failed_mail_customer(event=event)
