"""Request checks that apply to every view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


class NullCharacterMiddleware:
    """Refuse (400) a request whose path, query or form fields contain a NUL character.

    No URL or form of the site has a use for one, and PostgreSQL refuses them in text, so a
    view that looks a parameter up would otherwise fail with a 500. Django's form fields already
    refuse them; this covers the parameters views read directly. Views exempt from CSRF (the
    Stripe webhooks) read their own raw bodies, so their form fields are not parsed here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., HttpResponse],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        fields = [request.path, *_flatten(request.GET)]
        if request.method == "POST" and not getattr(view, "csrf_exempt", False):
            fields += _flatten(request.POST)
        if any("\x00" in field for field in fields):
            return HttpResponseBadRequest(
                "Null characters are not allowed in URLs or form fields.",
                content_type="text/plain",
            )
        return None


def _flatten(query: Any) -> list[str]:
    return [part for key, values in query.lists() for part in (key, *values)]
