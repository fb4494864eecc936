"""Stripe webhooks: a signed endpoint, durable storage, processing in Celery, reconciliation.

The public API is `webhook_handler` (register your own handler for an event type); see
`accounts.webhooks.handlers` and the README's "Webhooks" section.
"""

from __future__ import annotations

from accounts.webhooks.handlers import webhook_handler

__all__ = ["webhook_handler"]
