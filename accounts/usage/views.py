"""The status page's usage panel (polled by htmx while the page is open) and the Subscription
Demo's "Use the API" button."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from accounts.usage.selectors import meter_usage, usage_this_period, usage_within_limit
from accounts.usage.services import usage_bill_estimate, usage_record

# The meter the demo's button records a call of.
DEMO_METER = "api_calls"


def usage_panel_context(request: HttpRequest) -> dict[str, object]:
    """What the usage panel shows: each meter's use this period and the estimated bill."""
    holder = request.holder  # type: ignore[attr-defined]
    state = request.billing  # type: ignore[attr-defined]
    if holder is None:
        return {"usages": []}
    usages = usage_this_period(holder=holder, state=state)
    return {"usages": usages, "estimate": usage_bill_estimate(state=state) if usages else None}


@login_required
@require_safe
def subscription_usage(request: HttpRequest) -> HttpResponse:
    """The usage panel alone, for the status page's polling; opened as a page (no htmx), the
    status page it belongs to."""
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("accounts:subscription")
    return render(request, "accounts/usage/_usage_panel.html", usage_panel_context(request))


@login_required
@require_POST
def usage_demo_call(request: HttpRequest) -> HttpResponse:
    """Record one API call for the holder, unless its plan's hard limit is reached; the
    counter, updated (without htmx: back to the demo page, with a message)."""
    holder = request.holder  # type: ignore[attr-defined]
    refused = None
    if holder is None or holder.customer_id is None:
        refused = "Subscribe to a plan to use the API."
    elif not usage_within_limit(holder=holder, meter=DEMO_METER):
        refused = meter_usage(holder=holder, meter=DEMO_METER).limit_message
    else:
        usage_record(holder=holder, meter=DEMO_METER, value=1)
    if not request.htmx:  # type: ignore[attr-defined]
        if refused:
            messages.warning(request, refused)
        else:
            messages.success(request, "One API call recorded.")
        return redirect("accounts:subscription_demo")
    context = {"refused": refused, "usage": demo_usage(request)}
    return render(request, "accounts/usage/_demo_counter.html", context)


def demo_usage(request: HttpRequest) -> object:
    """The demo meter's use this period (None without a holder)."""
    holder = request.holder  # type: ignore[attr-defined]
    if holder is None:
        return None
    return meter_usage(holder=holder, meter=DEMO_METER)
