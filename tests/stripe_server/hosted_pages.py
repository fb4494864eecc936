"""Talking to the local Stripe server's hosted pages as a browser form would, without one."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


@dataclass
class PageResponse:
    status: int
    text: str
    location: str | None
    content_type: str


def _fetch(request: urllib.request.Request) -> PageResponse:
    try:
        with _OPENER.open(request, timeout=10) as response:
            return PageResponse(
                response.status,
                response.read().decode(),
                response.headers.get("Location"),
                response.headers.get("Content-Type", ""),
            )
    except urllib.error.HTTPError as error:
        return PageResponse(
            error.code,
            error.read().decode(),
            error.headers.get("Location"),
            error.headers.get("Content-Type", ""),
        )


def get_page(url: str) -> PageResponse:
    return _fetch(urllib.request.Request(url))


def post_form(url: str, fields: dict[str, str] | list[tuple[str, str]]) -> PageResponse:
    body = urllib.parse.urlencode(fields).encode()
    return _fetch(urllib.request.Request(url, data=body, method="POST"))


def get_document(url: str) -> tuple[int, str, bytes]:
    """GET a file (a PDF, say): status, content type and the raw bytes."""
    try:
        with _OPENER.open(urllib.request.Request(url), timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def hidden_fields(text: str) -> dict[str, str]:
    """The hidden inputs of a page's forms, as a browser would send them back."""
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(text)}
