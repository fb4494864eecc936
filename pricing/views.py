"""The pricing page: a full page, or (for htmx) just the plans partial."""

from __future__ import annotations

import functools
import hashlib

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import condition, require_GET

from accounts.selectors import holder_for_request, holder_reference
from pricing import metadata as pricing_metadata
from pricing.forms import PricingQueryForm
from pricing.selectors import (
    SEATS_MAX,
    SEATS_MIN,
    active_intervals,
    catalog_for_page,
    catalog_stamp,
)

PAGE_TEMPLATE = "pricing/pricing_page.html"
PLANS_PARTIAL = f"{PAGE_TEMPLATE}#plans"


@functools.cache
def _deploy_stamp() -> str:
    """The templates' latest change and the stylesheet's (hashed, in production) URL: a deploy
    that changes how the page looks changes its ETag. Read once per process."""
    newest = max(
        (path.stat().st_mtime for path in (settings.BASE_DIR / "templates").rglob("*.html")),
        default=0.0,
    )
    return f"{newest}|{static(settings.TAILWIND_CSS_PATH)}"


def pricing_page_etag(request: HttpRequest) -> str | None:
    """A hash of everything the page shows: the synced catalog, the metadata, the query, the
    visitor (account menu, teams, plan, seats) and their CSRF cookie. An unchanged page is then
    a 304 without rendering. No ETag while messages wait to be shown (a 304 would lose them)."""
    if request.COOKIES.get("messages") or "_messages" in getattr(request, "session", {}):
        return None
    holder = holder_for_request(request)
    subscription = holder.subscription if holder is not None and holder.subscription_id else None
    user = request.user
    parts = [
        catalog_stamp(),
        repr(pricing_metadata.ACTIVE_PRODUCTS),
        repr(pricing_metadata.ACTIVE_PLAN_INTERVALS),
        _deploy_stamp(),
        request.get_full_path(),
        request.headers.get("HX-Request", ""),
        request.headers.get("HX-History-Restore-Request", ""),
        request.COOKIES.get(settings.CSRF_COOKIE_NAME, ""),
        f"{user.pk}|{getattr(user, 'email', '')}|{user.is_staff}",
        repr([(m.team_id, m.team.name, m.role) for m in getattr(request, "team_memberships", [])]),
        str(getattr(getattr(request, "team", None), "pk", "")),
    ]
    if holder is not None:
        parts += [holder_reference(holder=holder), str(holder.get_quantity())]
    if subscription is not None:
        parts += [subscription.id, str(subscription.djstripe_updated)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


@require_GET
@condition(etag_func=pricing_page_etag)
def pricing_page(request: HttpRequest) -> HttpResponse:
    """Plans for `?interval=` and `?seats=`.

    htmx requests (the interval toggle, the seat count) get the plans partial; everything else,
    including htmx's history restores, the full page. Bad input is explained in the plans: the
    full page answers 400, the partial 200 so that htmx shows the message.
    """
    holder = holder_for_request(request)
    form = PricingQueryForm(request.GET)
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {})
    interval = cleaned.get("interval") or active_intervals()[0]
    default_seats = max(SEATS_MIN, min(SEATS_MAX, holder.get_quantity() if holder else 1))
    seats = cleaned.get("seats") or default_seats
    subscription = holder.subscription if holder is not None and holder.subscription_id else None
    catalog = catalog_for_page(interval=interval, seats=seats, subscription=subscription)
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    errors = [error for field_errors in form.errors.values() for error in field_errors]
    response = render(
        request,
        PLANS_PARTIAL if partial else PAGE_TEMPLATE,
        {"catalog": catalog, "errors": errors, "seats_min": SEATS_MIN, "seats_max": SEATS_MAX},
        status=400 if errors and not partial else 200,
    )
    patch_vary_headers(response, ("HX-Request", "HX-History-Restore-Request"))
    # Personal (the account menu, the current plan): browsers keep it and revalidate it with
    # the ETag each time; shared caches do not keep it.
    patch_cache_control(response, private=True, no_cache=True)
    return response
