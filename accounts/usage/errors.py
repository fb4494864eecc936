"""What `usage_record` raises: each a `UsageError` (a `ValueError`) whose message says what to
fix. Nothing is written when one is raised."""

from __future__ import annotations


class UsageError(ValueError):
    """Usage that cannot be recorded."""


class UnknownMeterError(UsageError):
    """The meter is not one of `pricing.metadata.ACTIVE_METERS`."""


class InvalidUsageValueError(UsageError):
    """The value is not a finite number >= 0."""


class HolderWithoutCustomerError(UsageError):
    """The holder has no Stripe customer yet (it has never started a Checkout)."""
