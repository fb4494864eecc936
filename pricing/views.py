"""The pricing page: a full page, or (for htmx) just what changed.

Visitors who are not logged in all see the same page for a query (it carries no CSRF token:
their Subscribe buttons GET the sign-up route to Checkout), so it is rendered once per catalog
stamp and query, cached, and served to each of them. With `?promo=` the page is priced with
the promotion code (see `pricing.promotions`); a code that cannot be used shows why, with the
regular prices, and its page is not kept (typing codes fills no cache).
"""

from __future__ import annotations

import functools
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import condition, require_safe

from pricing import metadata as pricing_metadata
from pricing.catalog import CATALOG_CACHE_SECONDS, active_intervals, catalog_stamp_recent
from pricing.forms import PricingQueryForm
from pricing.promotions import PromotionLookup, promotion_lookup
from pricing.selectors import SEATS_MAX, SEATS_MIN, CurrentPlan, catalog_for_page

PAGE_TEMPLATE = "pricing/pricing_page.html"
PLANS_PARTIAL = f"{PAGE_TEMPLATE}#plans"
OFFERS_PARTIAL = f"{PAGE_TEMPLATE}#offers"


@functools.cache
def _deploy_stamp() -> str:
    """The templates' latest change and the stylesheet's (hashed, in production) URL: a deploy
    that changes how the page looks changes its ETag. Read once per process."""
    newest = max(
        (path.stat().st_mtime for path in (settings.BASE_DIR / "templates").rglob("*.html")),
        default=0.0,
    )
    return f"{newest}|{static(settings.TAILWIND_CSS_PATH)}"


def _messages_waiting(request: HttpRequest) -> bool:
    return bool(request.COOKIES.get("messages")) or "_messages" in getattr(request, "session", {})


def _catalog_stamp(request: HttpRequest) -> str:
    """The catalog's stamp, read once per request (the ETag and the page both need it)."""
    if not hasattr(request, "_pricing_catalog_stamp"):
        request._pricing_catalog_stamp = catalog_stamp_recent()  # type: ignore[attr-defined]
    return request._pricing_catalog_stamp  # type: ignore[attr-defined]


def _query(request: HttpRequest) -> tuple[dict[str, object], list[str]]:
    """The query string, checked once per request (the ETag and the page both need it): what
    was valid, and a message for what was not."""
    if not hasattr(request, "_pricing_query"):
        cleaned: dict[str, object] = {}
        errors: list[str] = []
        if request.GET:  # a bare /pricing/ (most visits) has nothing to check
            form = PricingQueryForm(request.GET)
            form.is_valid()
            cleaned = getattr(form, "cleaned_data", {})
            errors = [error for field_errors in form.errors.values() for error in field_errors]
        request._pricing_query = (cleaned, errors)  # type: ignore[attr-defined]
    return request._pricing_query  # type: ignore[attr-defined]


def _promotion(request: HttpRequest) -> PromotionLookup | None:
    """What the `?promo=` code is, for this visitor and now; read once per request."""
    if not hasattr(request, "_pricing_promotion"):
        code = _query(request)[0].get("promo")
        holder = request.holder  # type: ignore[attr-defined]
        request._pricing_promotion = (  # type: ignore[attr-defined]
            promotion_lookup(
                code=str(code),
                customer_id=getattr(holder, "customer_id", None),
                stamp=_catalog_stamp(request),
            )
            if code
            else None
        )
    return request._pricing_promotion  # type: ignore[attr-defined]


def _page_stamp(request: HttpRequest) -> list[str]:
    """What every visitor's page depends on: the synced catalog, the metadata, the deploy.
    Read once per request (the ETag and the shared render both need it)."""
    if not hasattr(request, "_pricing_page_stamp"):
        request._pricing_page_stamp = [  # type: ignore[attr-defined]
            _catalog_stamp(request),
            repr(pricing_metadata.ACTIVE_PRODUCTS),
            repr(pricing_metadata.ACTIVE_PLAN_INTERVALS),
            _deploy_stamp(),
        ]
    return request._pricing_page_stamp  # type: ignore[attr-defined]


def pricing_page_etag(request: HttpRequest) -> str | None:
    """A hash of everything the page shows: the synced catalog, the metadata, the query, the
    visitor (account menu, holder, plan, seats) and their CSRF cookie. An unchanged page is then
    a 304 without rendering. No ETag while messages wait to be shown (a 304 would lose them)."""
    if _messages_waiting(request):
        return None
    holder = request.holder
    billing = request.billing
    user = request.user
    promotion = _promotion(request)
    parts = [
        *_page_stamp(request),
        # Whether the code can be used changes with time alone (it expires).
        promotion.state if promotion is not None else "",
        request.get_full_path(),
        request.headers.get("HX-Request", ""),
        request.headers.get("HX-History-Restore-Request", ""),
        request.COOKIES.get(settings.CSRF_COOKIE_NAME, ""),
        f"{user.pk}|{getattr(user, 'email', '')}|{user.is_staff}",
    ]
    if holder is not None:
        parts += [holder._meta.label_lower, str(holder.pk), str(holder.get_quantity())]
        if billing.has_subscription:
            parts += [billing.subscription_id, str(billing.updated)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _current_plan(request: HttpRequest) -> CurrentPlan | None:
    """The plan a subscriber's live subscription bills, for the cards to compare with."""
    billing = request.billing
    item = billing.plan_item if billing.is_live else None
    if item is None or not item.price_id:
        return None
    return CurrentPlan(price_id=item.price_id, quantity=item.quantity, price_data=item.price)


def _shared_render_key(
    request: HttpRequest, *, variant: str, interval: str, seats: int, promotion: str
) -> str:
    parts = [*_page_stamp(request), variant, interval, str(seats), promotion]
    return "pricing:page:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


@require_safe
@condition(etag_func=pricing_page_etag)
def pricing_page(request: HttpRequest) -> HttpResponse:
    """Plans for `?interval=` and `?seats=`, priced with `?promo=` when it names a usable code.

    htmx requests (the interval toggle, the seat count) get only what changes: each plan's
    offer and the toggle, swapped out of band, when every interval offers the same plans; the
    plans partial otherwise. htmx's history restores, and everything else, get the full page.
    Bad input is explained above the plans: the full page answers 400, htmx 200 so that htmx
    shows the message.
    """
    holder = request.holder
    cleaned, errors = _query(request)
    promotion = _promotion(request)
    interval = cleaned.get("interval") or active_intervals()[0]
    default_seats = max(SEATS_MIN, min(SEATS_MAX, holder.get_quantity() if holder else 1))
    seats = cleaned.get("seats") or default_seats
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    # One render serves every visitor who is not logged in and asked for a valid query (with
    # no code, or a usable one).
    shared = (
        not request.user.is_authenticated
        and not errors
        and not _messages_waiting(request)
        and (promotion is None or promotion.usable is not None)
    )
    key = (
        _shared_render_key(
            request,
            variant="htmx" if partial else "page",
            interval=interval,
            seats=seats,
            promotion=promotion.state if promotion is not None else "",
        )
        if shared
        else ""
    )
    rendered = cache.get(key) if shared else None
    if rendered is None:
        catalog = catalog_for_page(
            interval=interval,
            seats=seats,
            current_price_ids=request.billing.current_price_ids,
            current_product_ids=request.billing.current_product_ids,
            stamp=_catalog_stamp(request),
            current=_current_plan(request),
            trial_offered=not request.billing.had_trial,
            promotion=promotion.usable if promotion is not None else None,
        )
        only_offers = partial and catalog.same_plans_every_interval
        template = (OFFERS_PARTIAL if only_offers else PLANS_PARTIAL) if partial else PAGE_TEMPLATE
        context = {
            "catalog": catalog,
            "errors": errors,
            "promotion_lookup": promotion,
            "seats_min": SEATS_MIN,
            "seats_max": SEATS_MAX,
        }
        if shared:
            context["csrf_token"] = ""  # nothing on the page posts
        rendered = (render_to_string(template, context, request), only_offers)
        if shared:
            cache.set(key, rendered, CATALOG_CACHE_SECONDS)
    content, only_offers = rendered
    response = HttpResponse(content, status=400 if errors and not partial else 200)
    if only_offers:
        # Everything in the answer is swapped out of band; #plans itself stays as it is.
        response["HX-Reswap"] = "none"
    patch_vary_headers(response, ("HX-Request", "HX-History-Restore-Request"))
    # Personal (the account menu, the current plan): browsers keep it and revalidate it with
    # the ETag each time; shared caches do not keep it.
    patch_cache_control(response, private=True, no_cache=True)
    return response
