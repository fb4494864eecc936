"""A small table from `METHOD /path/{id}` patterns to handler functions.

Resource modules register their handlers with `@route(...)` at import time; the server asks
`ROUTES.match` for each request. Later features (Checkout, Billing Portal, admin knobs) add
their own modules the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stripe_server.context import Context

Response = dict[str, Any] | tuple[int, dict[str, Any]]
Handler = Callable[[Context], Response]


@dataclass(frozen=True)
class Route:
    method: str
    # The path as registered, `/v1/coupons/{id}`.
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    # Admin routes (`/_local/...`) need no API key; Stripe routes do.
    public: bool


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, *, public: bool = False) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append(Route(method, template, re.compile(f"^{regex}/?$"), handler, public))
        # A literal path (`/v1/invoices/create_preview`) wins over a pattern that would read
        # its last segment as an id (`/v1/invoices/{id}`), whichever module registered first.
        self._routes.sort(key=lambda known: known.pattern.groups > 0)

    def routes(self) -> tuple[Route, ...]:
        """Every registered route (the README and the conformance tests list them)."""
        return tuple(self._routes)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for candidate in self._routes:
            if candidate.method != method:
                continue
            found = candidate.pattern.match(path)
            if found:
                return candidate, found.groupdict()
        return None


ROUTES = Router()

# Stripe endpoints whose paths the routes above would take for an id (`/v1/invoices/{id}`):
# the server answers 404 naming them instead of "No such invoice: 'upcoming'".
NOT_EMULATED: dict[str, frozenset[str]] = {
    "GET": frozenset(
        {
            "/v1/invoices/upcoming",
            "/v1/invoices/upcoming/lines",
            "/v1/customers/search",
            "/v1/invoices/search",
            "/v1/prices/search",
            "/v1/products/search",
            "/v1/subscriptions/search",
        }
    ),
    "POST": frozenset(),
}


def route(method: str, template: str, *, public: bool = False) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `method template`."""

    def register(handler: Handler) -> Handler:
        ROUTES.add(method, template, handler, public=public)
        return handler

    return register
