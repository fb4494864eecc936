"""Portal's own webhook handlers, and the order in which they and everyone else's are registered.

dj-stripe has already synced the event's objects (re-retrieved from Stripe, so their state is
Stripe's current one whatever order events arrive in) when these run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.utils.module_loading import autodiscover_modules

from accounts.billing.checkout import (
    checkout_session_sync,
    holder_subscription_refresh,
    holder_subscription_sync,
)
from accounts.billing.discounts import discount_sync
from accounts.billing.errors import CheckoutSessionUnknownError
from accounts.billing.state import billing_state
from accounts.billing.trials import paused_subscription_resume
from accounts.gating_handlers import (
    checkout_completed_sync_groups,
    subscription_changed_sync_groups,
)
from accounts.selectors import holder_for_customer
from accounts.webhooks import emails
from accounts.webhooks.registry import WebhookHandler, webhook_handler_register

if TYPE_CHECKING:
    from accounts.webhooks.models import WebhookEvent

logger = logging.getLogger(__name__)


def checkout_session_completed_link_holder(event: WebhookEvent) -> None:
    """Link the customer and subscription a Checkout created to the holder that started it."""
    try:
        checkout_session_sync(session_id=event.data_object["id"])
    except CheckoutSessionUnknownError:
        # A session of another integration on the same Stripe account: not ours to link.
        logger.info("Checkout session %s was not started by Portal", event.data_object["id"])


def subscription_changed_refresh_holder(event: WebhookEvent) -> None:
    """Point the customer's holder at its current subscription."""
    customer_id = event.data_object.get("customer")
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id")
    if customer_id:
        holder_subscription_refresh(customer_id=customer_id)


def subscription_canceled_mail_admins(event: WebhookEvent) -> None:
    """Tell the project's admins (`ADMINS`) that a subscription was canceled."""
    emails.subscription_canceled_mail_admins(event=event)


def payment_failed_mail_customer(event: WebhookEvent) -> None:
    """Tell the customer their payment failed, and where to update their card."""
    emails.payment_failed_mail_customer(event=event)


def trial_will_end_mail_contacts(event: WebhookEvent) -> None:
    """Tell the holder's billing contacts that its free trial ends in three days."""
    emails.trial_will_end_mail_contacts(event=event)


def payment_method_added_resume_paused(event: WebhookEvent) -> None:
    """Resume the customer's subscription if it was paused for want of a card (its trial
    ended without one) and the customer now has one."""
    customer_id = event.data_object.get("customer") or (
        event.data_object.get("id") if event.data_object.get("object") == "customer" else None
    )
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id")
    holder = holder_for_customer(customer_id=customer_id) if customer_id else None
    if holder is None or billing_state(holder=holder).status != "paused":
        return
    if paused_subscription_resume(holder=holder) is not None:
        holder_subscription_sync(holder=holder)


def discount_changed_store(event: WebhookEvent) -> None:
    """Store the discount Stripe created on a subscription (or switched it to), with its
    coupon: dj-stripe ignores these events, and Stripe cannot be asked for a discount alone.
    A deleted discount needs nothing: the subscription's update no longer lists it."""
    discount_sync(data=event.data_object)


# Portal's handlers and their event types, in the order they run. The plan-group handlers come
# last: they read the holder's subscription, which the handlers above link or refresh.
BUILTIN_HANDLERS: tuple[tuple[WebhookHandler, tuple[str, ...]], ...] = (
    (checkout_session_completed_link_holder, ("checkout.session.completed",)),
    (subscription_changed_refresh_holder, ("customer.subscription.*",)),
    (subscription_canceled_mail_admins, ("customer.subscription.deleted",)),
    (payment_failed_mail_customer, ("invoice.payment_failed",)),
    (trial_will_end_mail_contacts, ("customer.subscription.trial_will_end",)),
    (payment_method_added_resume_paused, ("payment_method.attached", "customer.updated")),
    (discount_changed_store, ("customer.discount.created", "customer.discount.updated")),
    (
        subscription_changed_sync_groups,
        (
            "customer.subscription.created",
            "customer.subscription.updated",
            "customer.subscription.deleted",
        ),
    ),
    (checkout_completed_sync_groups, ("checkout.session.completed",)),
)


def webhook_handlers_install() -> None:
    """Register Portal's handlers in the order of `BUILTIN_HANDLERS`, then import the
    `webhook_handlers` module of every installed app, in `INSTALLED_APPS` order, so that their
    handlers come after. `AccountsConfig.ready()` calls it, once the apps are loaded."""
    for handler, patterns in BUILTIN_HANDLERS:
        webhook_handler_register(handler=handler, patterns=patterns)
    autodiscover_modules("webhook_handlers")
