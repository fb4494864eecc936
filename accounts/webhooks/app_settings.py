"""The webhook pipeline's settings, read in one place with the `PORTAL_WEBHOOK_` prefix.

Each is a Django setting, and its property here gives its default, written nowhere else:
`portal/settings.py` reads the environment and leaves what it does not set None, which means
"the default". Durations are in seconds. `STRIPE_PENDING_WEBHOOKS_THRESHOLD` and
`DJSTRIPE_WEBHOOK_SECRET` keep the names that aa-stripe and dj-stripe users know. How often
beat reconciles is part of Celery's schedule, in `portal/settings.py`.
"""

from __future__ import annotations

from django.conf import settings


class WebhookSettings:
    prefix = "PORTAL_WEBHOOK_"

    def _setting(self, name: str, default: int) -> int:
        return self._named(self.prefix + name, default)

    def _named(self, name: str, default: int) -> int:
        value = getattr(settings, name, None)
        return default if value is None else int(value)

    @property
    def SECRET(self) -> str:
        """The endpoint's signing secret (`whsec_...`), from `DJSTRIPE_WEBHOOK_SECRET`."""
        return getattr(settings, "DJSTRIPE_WEBHOOK_SECRET", "") or ""

    @property
    def TOLERANCE(self) -> int:
        """Seconds a signature's timestamp may be away from now (either way)."""
        return self._setting("TOLERANCE", 300)

    @property
    def MAX_BODY_BYTES(self) -> int:
        """Larger request bodies are refused before they are read."""
        return self._setting("MAX_BODY_BYTES", 1024 * 1024)

    @property
    def MAX_ATTEMPTS(self) -> int:
        """Processing attempts of one event before it stays failed (the admin can retry it)."""
        return self._setting("MAX_ATTEMPTS", 6)

    @property
    def RETRY_BACKOFF(self) -> int:
        """Seconds before the first retry of a failed event; doubles with each attempt."""
        return self._setting("RETRY_BACKOFF", 30)

    @property
    def RETRY_BACKOFF_MAX(self) -> int:
        """The longest wait between two attempts, in seconds."""
        return self._setting("RETRY_BACKOFF_MAX", 3600)

    @property
    def PROCESSING_TIMEOUT(self) -> int:
        """Seconds after which an event still marked processing (its worker died) is retried."""
        return self._setting("PROCESSING_TIMEOUT", 600)

    @property
    def RECONCILE_WINDOW(self) -> int:
        """How far back, in seconds, reconciliation asks Stripe for undelivered events."""
        return self._setting("RECONCILE_WINDOW", 3 * 24 * 3600)

    @property
    def PENDING_THRESHOLD(self) -> int:
        """More pending events than this at reconciliation: mail the admins, exit non-zero."""
        return self._named("STRIPE_PENDING_WEBHOOKS_THRESHOLD", 20)


webhook_settings = WebhookSettings()
