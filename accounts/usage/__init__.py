"""Usage billing on Stripe's meters: record usage in one call, flush it to Stripe in batches.

The public API:

- `usage_record(holder=..., meter="api_calls", value=1)`: one local insert, never a Stripe
  call; raises a `UsageError` (`UnknownMeterError`, `InvalidUsageValueError`,
  `HolderWithoutCustomerError`) and writes nothing for bad input.
- `usage_within_limit(holder=..., meter="api_calls", value=1)`: whether the plan's limit
  (`ProductMetadata.usage_limits`) leaves room for `value` more this period.
- `usage_flush()`: send what is pending (the `accounts.usage_flush` task and
  `manage.py usage_flush` run it).

See the README's "Usage billing" section.
"""

from __future__ import annotations

from typing import Any

from accounts.usage.errors import (
    HolderWithoutCustomerError,
    InvalidUsageValueError,
    UnknownMeterError,
    UsageError,
)

__all__ = [
    "HolderWithoutCustomerError",
    "InvalidUsageValueError",
    "UnknownMeterError",
    "UsageError",
    "usage_flush",
    "usage_record",
    "usage_within_limit",
]


def __getattr__(name: str) -> Any:
    # Imported on first use: `accounts.models` imports this package's models while apps load,
    # before the services' imports (dj-stripe's models) can be.
    if name in ("usage_record", "usage_flush"):
        from accounts.usage import services

        return getattr(services, name)
    if name == "usage_within_limit":
        from accounts.usage import selectors

        return selectors.usage_within_limit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
