"""The webhook handler registry: which functions run for an event type, and in which order.

dj-stripe first syncs the event's objects into its tables; then every handler registered for the
event's type runs, in registration order, in the same transaction. Register one with:

    from accounts.webhooks import webhook_handler

    @webhook_handler("customer.subscription.deleted")
    def subscription_farewell(event: WebhookEvent) -> None:
        ...

Patterns may use `*` (`"invoice.*"`, `"*"`). Put handlers in a `webhook_handlers.py` module of
any installed app: at startup Portal registers its own handlers, then imports those modules in
`INSTALLED_APPS` order (`accounts.webhooks.builtin_handlers.webhook_handlers_install`). A
handler that raises fails the event, which is then retried with backoff; handlers must therefore
be idempotent (send mail with `transaction.on_commit`, so a rolled-back attempt sends nothing).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.webhooks.models import WebhookEvent

WebhookHandler = Callable[["WebhookEvent"], None]

_registry: list[tuple[str, WebhookHandler]] = []


def webhook_handler(*patterns: str) -> Callable[[WebhookHandler], WebhookHandler]:
    """Register the decorated function for events whose type matches one of `patterns`."""
    if not patterns:
        raise TypeError("webhook_handler() needs at least one event type, e.g. 'invoice.paid'.")

    def register(handler: WebhookHandler) -> WebhookHandler:
        webhook_handler_register(handler=handler, patterns=patterns)
        return handler

    return register


def webhook_handler_register(*, handler: WebhookHandler, patterns: Iterable[str]) -> None:
    """Register `handler` for events whose type matches one of `patterns`, after the handlers
    registered before it (what `webhook_handler` does, without a decorator)."""
    for pattern in patterns:
        if (pattern, handler) not in _registry:
            _registry.append((pattern, handler))


def webhook_handler_unregister(handler: WebhookHandler) -> None:
    """Remove `handler` from every pattern it was registered for."""
    _registry[:] = [entry for entry in _registry if entry[1] is not handler]


def webhook_handlers_for(event_type: str) -> list[WebhookHandler]:
    """The handlers registered for `event_type`, in registration order, each once."""
    found: list[WebhookHandler] = []
    for pattern, handler in _registry:
        if fnmatch.fnmatchcase(event_type, pattern) and handler not in found:
            found.append(handler)
    return found
