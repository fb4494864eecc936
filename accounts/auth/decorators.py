"""Gates before billing and sensitive changes: a verified address, and a recent login."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from allauth.account import app_settings as allauth_settings
from allauth.core.exceptions import ReauthenticationRequired
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from accounts.auth.selectors import billing_blocked_by_email, email_verification_mandatory
from portal.http import redirect_after_post

View = Callable[..., HttpResponse]

# When the session's user last logged in (any way: password, a second factor, a social
# account, `Client.force_login`) or confirmed their password again, in seconds since the epoch.
SESSION_AUTHENTICATED_AT_KEY = "portal_authenticated_at"


def _page_to_return_to(request: HttpRequest) -> str:
    """Where to come back to once the gate is passed: this page for a GET (or HEAD), the page
    the form was on (the Referer, when it is this site) for a POST, else the home page."""
    if request.method in ("GET", "HEAD") and not request.htmx:  # type: ignore[attr-defined]
        return request.get_full_path()
    if request.htmx and request.htmx.current_url_abs_path:  # type: ignore[attr-defined]
        return request.htmx.current_url_abs_path  # type: ignore[attr-defined]
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return reverse("home")


# The address the session's user was last found verified with: a verified address stays
# verified, so the gate asks the database once per session (and again if the address changes).
SESSION_VERIFIED_EMAIL_KEY = "portal_verified_email"


def _billing_blocked(request: HttpRequest) -> bool:
    user = request.user
    if not user.is_authenticated or request.session.get(SESSION_VERIFIED_EMAIL_KEY) == user.email:
        return False
    if billing_blocked_by_email(user=user):  # type: ignore[arg-type]
        return True
    if email_verification_mandatory():
        request.session[SESSION_VERIFIED_EMAIL_KEY] = user.email
    return False


def verified_email_required(view: View) -> View:
    """Keep a logged-in user whose address is not verified (with mandatory verification) from
    the view: they are sent to a page that says why, with a button to mail the link again, and
    come back here once verified. Anonymous visitors pass (the view decides about them)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _billing_blocked(request):
            query = urlencode({"next": _page_to_return_to(request)})
            return redirect_after_post(request, f"{reverse('accounts:email_verify')}?{query}")
        return view(request, *args, **kwargs)

    return wrapped


def recently_authenticated(request: HttpRequest) -> bool:
    """Whether the session logged in, or confirmed its password, within allauth's
    `ACCOUNT_REAUTHENTICATION_TIMEOUT`."""
    at = request.session.get(SESSION_AUTHENTICATED_AT_KEY)
    if not isinstance(at, int | float):
        return False
    return time.time() - at < allauth_settings.REAUTHENTICATION_TIMEOUT


def reauthentication_required(
    view: View | None = None, *, allow_get: bool = False
) -> View | Callable[[View], View]:
    """Ask for the password (or a second factor) again when the session's last login is older
    than `ACCOUNT_REAUTHENTICATION_TIMEOUT`, before a sensitive change. `allow_get=True` lets
    GET (and HEAD) requests through (a preview), asking only before the change is made.

    allauth's own decorator counts only reauthentications, not the login itself; this one
    counts both. A POST is kept while the person reauthenticates and then made (allauth's
    middleware suspends and resumes it); an htmx request is sent to reauthenticate and come
    back to its page. Put it below `login_required`.
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            passes = allow_get and request.method in ("GET", "HEAD")
            if not passes and request.user.is_authenticated and not recently_authenticated(request):
                if request.htmx:  # type: ignore[attr-defined]
                    query = urlencode({"next": _page_to_return_to(request)})
                    url = f"{reverse('account_reauthenticate')}?{query}"
                    return HttpResponseClientRedirect(url)
                raise ReauthenticationRequired()
            return view(request, *args, **kwargs)

        return wrapped

    return decorator(view) if view is not None else decorator
