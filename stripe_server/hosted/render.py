"""Hosted page fragments from template files in `hosted/templates/`, escaped by default.

A template is `string.Template` text (`$name` placeholders). Every value is HTML-escaped with
`page.escape` unless it is `Html`, a fragment already rendered (by `render` itself), so a page
can be assembled from row templates without one unescaped value slipping through.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template

from stripe_server.hosted.page import escape

TEMPLATES = Path(__file__).resolve().parent / "templates"


class Html(str):
    """Markup that is already safe: rendered from a template, never raw input."""

    __slots__ = ()


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **values: object) -> Html:
    """Template file `name` with `values` substituted (escaped unless `Html`)."""
    escaped = {
        key: value if isinstance(value, Html) else escape(value) for key, value in values.items()
    }
    return Html(_template(name).substitute(escaped))


def join(fragments: list[Html]) -> Html:
    """Rendered fragments one after another (table rows, for instance)."""
    return Html("".join(fragments))
