"""Keep plan groups (`ProductMetadata.group`) in step with subscriptions, from webhooks.

Imported by `AccountsConfig.ready()`. Portal's own handlers are imported first, so they are
registered (and run) first: the holder already points at its current subscription when these
run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.webhooks import builtin_handlers  # noqa: F401 - registers Portal's handlers first
from accounts.webhooks.handlers import webhook_handler

if TYPE_CHECKING:
    from accounts.webhooks.models import WebhookEvent


@webhook_handler(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
)
def subscription_changed_sync_groups(event: WebhookEvent) -> None:
    """Put the customer's holder in its plan's group, or take it out."""
    from accounts.gating import holder_groups_sync
    from accounts.selectors import holder_for_customer

    customer_id = event.data_object.get("customer")
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id")
    holder = holder_for_customer(customer_id=customer_id) if customer_id else None
    if holder is not None:
        holder_groups_sync(holder=holder)


@webhook_handler("checkout.session.completed")
def checkout_completed_sync_groups(event: WebhookEvent) -> None:
    """A finished Checkout links a new subscription: give its holder the plan's group."""
    from accounts.gating import holder_groups_sync
    from accounts.selectors import holder_for_reference

    holder = holder_for_reference(reference=event.data_object.get("client_reference_id"))
    if holder is not None:
        holder_groups_sync(holder=holder)
