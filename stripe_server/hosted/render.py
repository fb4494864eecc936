"""Hosted pages from template files in `hosted/templates/`, escaped by default.

A template is `string.Template` text (`$name` placeholders; `$$` for a dollar sign). Every
value is HTML-escaped with `escape` unless it is `Html`, a fragment already rendered (by
`render` itself), so a page can be assembled from fragment templates without one unescaped
value slipping through. As in Jinja, the file's final newline ends the file, not the fragment,
so a one-line template can be used inline.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from string import Template

TEMPLATES = Path(__file__).resolve().parent / "templates"


class Html(str):
    """Markup that is already safe: rendered from a template, never raw input."""

    __slots__ = ()


# The fragment for a part of a page that is left out.
EMPTY = Html("")


def escape(value: object) -> str:
    """`value` as HTML text (quotes too, so it is safe inside attributes); None is empty."""
    return html.escape("" if value is None else str(value), quote=True)


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8").removesuffix("\n"))


def render(name: str, **values: object) -> Html:
    """Template file `name` with `values` substituted (escaped unless `Html`)."""
    escaped = {
        key: value if isinstance(value, Html) else escape(value) for key, value in values.items()
    }
    return Html(_template(name).substitute(escaped))


def join(fragments: Iterable[object], separator: Html = EMPTY) -> Html:
    """Fragments one after another (table rows, say), escaped unless `Html`, with
    `separator` between them."""
    return Html(
        separator.join(
            fragment if isinstance(fragment, Html) else escape(fragment) for fragment in fragments
        )
    )
