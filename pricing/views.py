"""The pricing page: a full page, or (for htmx) just the plans partial."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from accounts.selectors import holder_for_request
from pricing.forms import PricingQueryForm
from pricing.selectors import SEATS_MAX, SEATS_MIN, active_intervals, catalog_for_page

PAGE_TEMPLATE = "pricing/pricing_page.html"
PLANS_PARTIAL = f"{PAGE_TEMPLATE}#plans"


@require_GET
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
    return response
