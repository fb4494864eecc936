"""Portal's URLs plus pages to measure it against, for the benchmarks only (never in the
product's URLconf): a bare Django view, the same for a logged-in user (Django's session and
user reads), an empty page on Portal's base template, and the Pro demo page without its
gate."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from accounts.gating import holder_plan
from portal.urls import urlpatterns as portal_urlpatterns


@require_GET
def bare(request: HttpRequest) -> HttpResponse:
    """The least a Django view can do, behind the same middleware as every page."""
    return HttpResponse(b"ok", content_type="text/plain")


@login_required
@require_GET
def bare_logged_in(request: HttpRequest) -> HttpResponse:
    """A bare view for a logged-in user: what Django's session and user reads cost."""
    return HttpResponse(b"ok", content_type="text/plain")


@login_required
@require_GET
def base_page(request: HttpRequest) -> HttpResponse:
    """An empty page on Portal's base template (navigation, account menu, past-due banner)."""
    return render(request, "bench/logged_in.html")


@login_required
@require_GET
def pro_page_ungated(request: HttpRequest) -> HttpResponse:
    """`/subscription/demo/pro/` without `@active_subscription_required`: the same template and
    context, so the difference is the gate's cost."""
    return render(
        request,
        "accounts/subscription_demo_pro.html",
        {"holder_plan": holder_plan(holder=request.holder, state=request.billing)},
    )


urlpatterns = [
    path("bench/bare/", bare),
    path("bench/bare/logged-in/", bare_logged_in),
    path("bench/base-page/", base_page),
    path("bench/ungated/pro/", pro_page_ungated),
    *portal_urlpatterns,
]
