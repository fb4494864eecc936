from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Registers the webhook handlers that keep plan groups in step with subscriptions.
        from accounts import gating_handlers  # noqa: F401
