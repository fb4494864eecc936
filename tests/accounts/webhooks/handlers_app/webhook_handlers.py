"""The app's webhook handlers, registered when Portal imports this module at startup."""

from __future__ import annotations

from accounts.webhooks import webhook_handler


@webhook_handler("checkout.session.completed")
def checkout_completed_welcome(event: object) -> None:
    """Does nothing: the tests only look at where it stands among the handlers."""
