"""The accounts app's settings, read in one place with the `PORTAL_` prefix.

Each is a Django setting (set it in `portal/settings.py`); the property gives its default.
"""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class AppSettings:
    prefix = "PORTAL_"

    def _setting(self, name: str, default: object) -> object:
        return getattr(settings, self.prefix + name, default)

    @property
    def SUBSCRIPTION_HOLDER(self) -> Literal["user", "team"]:
        """Who holds a subscription: each user, or each team (billed per member)."""
        value = self._setting("SUBSCRIPTION_HOLDER", "user")
        if value not in ("user", "team"):
            raise ImproperlyConfigured(
                f"PORTAL_SUBSCRIPTION_HOLDER must be 'user' or 'team', not {value!r}."
            )
        return value  # type: ignore[return-value]

    @property
    def PAST_DUE_GRACE_DAYS(self) -> int:
        """Days a past-due subscription still passes feature gates, counted from the start of
        the unpaid period (0: a past-due subscription fails at once)."""
        value = self._setting("PAST_DUE_GRACE_DAYS", 7)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ImproperlyConfigured(
                f"PORTAL_PAST_DUE_GRACE_DAYS must be a whole number of days >= 0, not {value!r}."
            )
        return value


app_settings = AppSettings()
