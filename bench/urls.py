"""Portal's URLs plus two pages to measure it against, for the benchmarks only (never in the
product's URLconf): a bare Django view, and the Pro demo page without its gate."""

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
    path("bench/ungated/pro/", pro_page_ungated),
    *portal_urlpatterns,
]
