"""System checks for the accounts app's `PORTAL_` settings: a value that is not allowed fails
`manage.py check` (and `runserver`, `migrate`) with the setting's own message, instead of the
first request that reads it."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from accounts.app_settings import AppSettings, app_settings


@register()
def portal_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Read every `PORTAL_` setting `accounts.app_settings` defines."""
    errors: list[CheckMessage] = []
    for name, member in vars(AppSettings).items():
        if not isinstance(member, property):
            continue
        try:
            getattr(app_settings, name)
        except ImproperlyConfigured as error:
            errors.append(
                Error(str(error), hint="Fix it in the environment or settings.", id="accounts.E001")
            )
    return errors
