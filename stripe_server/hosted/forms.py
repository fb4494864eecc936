"""Hosted-page forms: reading submitted fields defensively, and showing what is wrong with them.

An error about one field is shown right after that field, which points to it
(`aria-describedby`), is marked invalid and takes the focus when the page loads; an error about
the whole form is shown above it and takes the focus itself. Either way it is announced
(`role="alert"`) and nobody has to hunt for it.
"""

from __future__ import annotations

from stripe_server.context import Context
from stripe_server.hosted.render import EMPTY, Html, render

MAX_FIELD_LENGTH = 500


def form_value(ctx: Context, key: str) -> str:
    """The submitted text of `key`, stripped; "" when missing, nested or too long."""
    value = ctx.params.raw(key)
    if not isinstance(value, str) or len(value) > MAX_FIELD_LENGTH:
        return ""
    return value.strip()


def field_errors(
    names: tuple[str, ...], error_field: str | None, message: str | None
) -> dict[str, Html]:
    """`{name}_invalid` and `{name}_error` template values for each field of `names`: on
    `error_field`, the attributes that tie it to `message` (and focus it), and the message to
    show after it; nothing on the others."""
    values: dict[str, Html] = {}
    for name in names:
        in_error = name == error_field and bool(message)
        values[f"{name}_invalid"] = (
            Html(f' aria-invalid="true" aria-describedby="{name}-error" autofocus')
            if in_error
            else EMPTY
        )
        values[f"{name}_error"] = (
            render("field_error.html", field=name, message=message) if in_error else EMPTY
        )
    return values


def form_error(message: str | None, *, field: str | None = None) -> Html:
    """An error about the whole form, above it (focused when the page loads); nothing when
    there is none, or when it is about a `field` (`field_errors` shows it there)."""
    return render("form_error.html", message=message) if message and not field else EMPTY
