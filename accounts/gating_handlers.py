"""Keep plan groups (`ProductMetadata.group`) in step with subscriptions, from webhooks.

Registered after Portal's other webhook handlers (`accounts.webhooks.builtin_handlers`), so the
holder already points at its current subscription when these run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from accounts.gating import holder_groups_sync
from accounts.selectors import holder_for_customer, holder_for_reference

if TYPE_CHECKING:
    from accounts.webhooks.models import WebhookEvent


def subscription_changed_sync_groups(event: WebhookEvent) -> None:
    """Put the customer's holder in its plan's group, or take it out."""
    customer_id = event.data_object.get("customer")
    if isinstance(customer_id, dict):
        customer_id = customer_id.get("id")
    holder = holder_for_customer(customer_id=customer_id) if customer_id else None
    if holder is not None:
        holder_groups_sync(holder=holder)


def checkout_completed_sync_groups(event: WebhookEvent) -> None:
    """A finished Checkout links a new subscription: give its holder the plan's group."""
    holder = holder_for_reference(reference=event.data_object.get("client_reference_id"))
    if holder is not None:
        holder_groups_sync(holder=holder)
