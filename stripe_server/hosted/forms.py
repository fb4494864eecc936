"""Reading hosted-page form fields defensively: anything odd becomes an empty string."""

from __future__ import annotations

from stripe_server.context import Context

MAX_FIELD_LENGTH = 500


def form_value(ctx: Context, key: str) -> str:
    """The submitted text of `key`, stripped; "" when missing, nested or too long."""
    value = ctx.params.raw(key)
    if not isinstance(value, str) or len(value) > MAX_FIELD_LENGTH:
        return ""
    return value.strip()
