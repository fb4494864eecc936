"""Hosted-page forms: reading submitted fields defensively, marking the field in error."""

from __future__ import annotations

from stripe_server.context import Context
from stripe_server.hosted.render import EMPTY, Html

MAX_FIELD_LENGTH = 500
# What a field in error carries, so assistive technology reads the form's error with it.
_INVALID = Html(' aria-invalid="true" aria-describedby="form-error"')


def form_value(ctx: Context, key: str) -> str:
    """The submitted text of `key`, stripped; "" when missing, nested or too long."""
    value = ctx.params.raw(key)
    if not isinstance(value, str) or len(value) > MAX_FIELD_LENGTH:
        return ""
    return value.strip()


def invalid_markers(names: tuple[str, ...], error_field: str | None) -> dict[str, Html]:
    """`{name}_invalid` template values: the error's attributes on `error_field`, else none."""
    return {f"{name}_invalid": _INVALID if name == error_field else EMPTY for name in names}
