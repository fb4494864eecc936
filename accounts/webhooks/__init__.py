"""Stripe webhooks: a signed endpoint, durable storage, processing in Celery, reconciliation.

The public API is `webhook_handler` (register your own handler for an event type) and
`webhook_handler_unregister` (take it off again, in a test say); see
`accounts.webhooks.registry` and the README's "Webhooks" section.
"""

from __future__ import annotations

from accounts.webhooks.registry import webhook_handler, webhook_handler_unregister

__all__ = ["webhook_handler", "webhook_handler_unregister"]
