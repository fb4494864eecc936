from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # Imported here: the handlers use the models, which exist only once the apps are loaded.
        from accounts import checks  # noqa: F401 - registers the settings check
        from accounts.auth import receivers  # noqa: F401 - connects the login time stamps
        from accounts.webhooks.builtin_handlers import webhook_handlers_install

        webhook_handlers_install()
