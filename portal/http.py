"""Small HTTP helpers every app's views share."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect


def safe_next_url(request: HttpRequest, fallback: str) -> str:
    """The `next` parameter when it points at this site, else `fallback` (no open redirects)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    # A path ("/pricing/") or an absolute URL on this host; a bare word ("-1") is neither, and
    # `redirect()` would try to reverse it as a URL name.
    if not candidate.startswith("/") and "://" not in candidate:
        return fallback
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback


def redirect_after_post(request: HttpRequest, url: str) -> HttpResponse:
    """303 to `url` (the browser GETs it), or `HX-Redirect` for an htmx request."""
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponseClientRedirect(url)
    response = redirect(url)
    response.status_code = 303
    return response
