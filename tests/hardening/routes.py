"""Every route of the URLconf, enumerated from `get_resolver()`, so that views added later are
covered by the hardening tests without anyone listing them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern


@dataclass(frozen=True)
class Route:
    """One URL pattern: its template (`teams/<slug:slug>/`), name and view."""

    template: str
    name: str
    view: object

    @property
    def is_admin(self) -> bool:
        return self.template.startswith("admin/")

    @property
    def csrf_exempt(self) -> bool:
        return bool(getattr(self.view, "csrf_exempt", False))

    def path(self, **values: str) -> str:
        """The URL with each `<converter:name>` replaced by `values[name]` (or a sample)."""

        def fill(match: re.Match[str]) -> str:
            converter, name = match.group(1) or "str", match.group(2)
            if name in values:
                return values[name]
            return {
                "int": "1",
                "uuid": "00000000-0000-0000-0000-000000000000",
                "path": "x",
            }.get(converter, "x")

        return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, self.template)


def _walk(patterns, prefix: str, namespace: str) -> list[Route]:
    routes: list[Route] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if not isinstance(entry.pattern, RoutePattern):
                continue  # regex includes (none in Portal) are not enumerable as templates
            inner = ":".join(filter(None, [namespace, entry.namespace or ""]))
            routes += _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            pattern = entry.pattern
            if isinstance(pattern, RoutePattern):
                template = prefix + str(pattern)
            else:
                # A regex route (the admin's app index): a concrete example of it.
                template = prefix + "auth/"
                if not re.fullmatch(str(pattern).lstrip("^"), "auth/"):
                    continue
            name = ":".join(filter(None, [namespace, entry.name or ""]))
            routes.append(Route(template=template, name=name, view=entry.callback))
    return routes


def all_routes() -> list[Route]:
    """Every route in the URLconf, the admin's included."""
    return _walk(get_resolver().url_patterns, "", "")
