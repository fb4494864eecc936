"""The accounts app's settings, read in one place with the `PORTAL_` prefix.

Each is a Django setting (set it in `portal/settings.py`); its property here gives its default,
written nowhere else: a setting that is unset or None takes it.
"""

from __future__ import annotations

from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class AppSettings:
    prefix = "PORTAL_"

    def _setting(self, name: str, default: object) -> object:
        value = getattr(settings, self.prefix + name, None)
        return default if value is None else value

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

    @property
    def SEAT_SYNC_PRORATION_BEHAVIOR(self) -> str:
        """How Stripe bills a seat count change that `sync_subscriptions` pushes:
        "create_prorations" (on the next invoice), "always_invoice" (now) or "none"."""
        value = self._setting("SEAT_SYNC_PRORATION_BEHAVIOR", "create_prorations")
        if value not in ("create_prorations", "always_invoice", "none"):
            raise ImproperlyConfigured(
                "PORTAL_SEAT_SYNC_PRORATION_BEHAVIOR must be 'create_prorations', "
                f"'always_invoice' or 'none', not {value!r}."
            )
        return value  # type: ignore[return-value]

    @property
    def SEAT_SYNC_MAX_UPDATES_PER_HOUR(self) -> int:
        """Most quantity updates pushed to one subscription in any hour (Stripe allows 200);
        a holder over it stays pending until the next sync."""
        value = self._setting("SEAT_SYNC_MAX_UPDATES_PER_HOUR", 200)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ImproperlyConfigured(
                f"PORTAL_SEAT_SYNC_MAX_UPDATES_PER_HOUR must be a whole number >= 1, not {value!r}."
            )
        return value

    @property
    def SEAT_SYNC_DELAY_SECONDS(self) -> int:
        """Seconds after a holder's members change before its seat count is pushed to Stripe
        (changes in the meantime are pushed with it); 0: no prompt push, seat counts wait for
        `sync_subscriptions` (hourly with Celery beat)."""
        value = self._setting("SEAT_SYNC_DELAY_SECONDS", 5)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ImproperlyConfigured(
                f"PORTAL_SEAT_SYNC_DELAY_SECONDS must be a whole number of seconds >= 0, "
                f"not {value!r}."
            )
        return value

    @property
    def TEAM_INVITATION_DAYS(self) -> int:
        """Days a team invitation's link stays valid."""
        value = self._setting("TEAM_INVITATION_DAYS", 7)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ImproperlyConfigured(
                f"PORTAL_TEAM_INVITATION_DAYS must be a whole number of days >= 1, not {value!r}."
            )
        return value

    @property
    def TRIAL_MISSING_PAYMENT_METHOD(self) -> Literal["cancel", "pause"]:
        """What happens when a free trial that asked for no card ends without one: Stripe
        cancels the subscription ("cancel") or pauses it until a card is added ("pause")."""
        value = self._setting("TRIAL_MISSING_PAYMENT_METHOD", "cancel")
        if value not in ("cancel", "pause"):
            raise ImproperlyConfigured(
                f"PORTAL_TRIAL_MISSING_PAYMENT_METHOD must be 'cancel' or 'pause', not {value!r}."
            )
        return value  # type: ignore[return-value]

    @property
    def CHECKOUT_ALLOW_PROMOTION_CODES(self) -> bool:
        """Whether Stripe Checkout offers a promotion code field (`allow_promotion_codes`).
        A Checkout that starts with a code already applied (a `?promo=` link) has none."""
        value = self._setting("CHECKOUT_ALLOW_PROMOTION_CODES", True)
        if not isinstance(value, bool):
            raise ImproperlyConfigured(
                f"PORTAL_CHECKOUT_ALLOW_PROMOTION_CODES must be True or False, not {value!r}."
            )
        return value

    @property
    def ADMIN_SHOW_ALL_DJSTRIPE_MODELS(self) -> bool:
        """Whether the admin lists every dj-stripe model (about 45), not only the ones Portal
        uses (customers, subscriptions, schedules, invoices, products, prices, coupons,
        promotion codes, discounts, payment methods). Read when the admin loads."""
        value = self._setting("ADMIN_SHOW_ALL_DJSTRIPE_MODELS", False)
        if not isinstance(value, bool):
            raise ImproperlyConfigured(
                f"PORTAL_ADMIN_SHOW_ALL_DJSTRIPE_MODELS must be True or False, not {value!r}."
            )
        return value


app_settings = AppSettings()
