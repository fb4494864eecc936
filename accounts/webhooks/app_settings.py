"""The webhook pipeline's settings, read in one place with the `PORTAL_WEBHOOK_` prefix.

Each is a Django setting (set from the environment in `portal/settings.py`); the property gives
its default. `STRIPE_PENDING_WEBHOOKS_THRESHOLD` and `DJSTRIPE_WEBHOOK_SECRET` keep the names
that aa-stripe and dj-stripe users know.
"""

from __future__ import annotations

from django.conf import settings


class WebhookSettings:
    prefix = "PORTAL_WEBHOOK_"

    def _setting(self, name: str, default: object) -> object:
        return getattr(settings, self.prefix + name, default)

    @property
    def SECRET(self) -> str:
        """The endpoint's signing secret (`whsec_...`), from `DJSTRIPE_WEBHOOK_SECRET`."""
        return getattr(settings, "DJSTRIPE_WEBHOOK_SECRET", "") or ""

    @property
    def TOLERANCE(self) -> int:
        """Seconds a signature's timestamp may be away from now (either way)."""
        return int(self._setting("TOLERANCE", 300))  # type: ignore[call-overload]

    @property
    def MAX_BODY_BYTES(self) -> int:
        """Larger request bodies are refused before they are read."""
        return int(self._setting("MAX_BODY_BYTES", 1024 * 1024))  # type: ignore[call-overload]

    @property
    def MAX_ATTEMPTS(self) -> int:
        """Processing attempts of one event before it stays failed (the admin can retry it)."""
        return int(self._setting("MAX_ATTEMPTS", 6))  # type: ignore[call-overload]

    @property
    def RETRY_BACKOFF(self) -> int:
        """Seconds before the first retry of a failed event; doubles with each attempt."""
        return int(self._setting("RETRY_BACKOFF", 30))  # type: ignore[call-overload]

    @property
    def RETRY_BACKOFF_MAX(self) -> int:
        """The longest wait between two attempts, in seconds."""
        return int(self._setting("RETRY_BACKOFF_MAX", 3600))  # type: ignore[call-overload]

    @property
    def PROCESSING_TIMEOUT(self) -> int:
        """Seconds after which an event still marked processing (its worker died) is retried."""
        return int(self._setting("PROCESSING_TIMEOUT", 600))  # type: ignore[call-overload]

    @property
    def RECONCILE_WINDOW(self) -> int:
        """How far back, in seconds, reconciliation asks Stripe for undelivered events."""
        return int(self._setting("RECONCILE_WINDOW", 3 * 24 * 3600))  # type: ignore[call-overload]

    @property
    def PENDING_THRESHOLD(self) -> int:
        """More pending events than this at reconciliation: mail the admins, exit non-zero."""
        return int(getattr(settings, "STRIPE_PENDING_WEBHOOKS_THRESHOLD", 20))


webhook_settings = WebhookSettings()
