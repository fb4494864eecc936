"""The plan-change screen: choose a plan or seats, see exactly what happens, confirm.

`GET /subscription/change/?price=<id>&seats=<n>` (or `?plan=<slug>`) shows the current and the
new plan and Stripe's preview of the charge; a per-seat plan's seat field re-renders the preview
with htmx (the whole page without JavaScript). `POST` applies the change previewed, with the
preview's signed `proration_date`. `POST /subscription/change/keep/` keeps the current plan
when a downgrade is waiting for the period's end.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.app_settings import app_settings
from accounts.auth.decorators import reauthentication_required, verified_email_required
from accounts.billing.forms import (
    PlanChangeForm,
    PreviewExpiredError,
    preview_token,
    preview_token_read,
)
from accounts.billing.pages import ADMINS_ONLY, STRIPE_DOWN, billing_error
from accounts.billing.plan_changes import (
    PlanChangeDeclinedError,
    PlanChangeError,
    PlanChangePlan,
    PlanChangePreview,
    plan_change_apply,
    plan_change_cancel,
    plan_change_plan,
    plan_change_preview,
)
from accounts.billing.state import BillingState
from accounts.gating import holder_groups_sync
from accounts.selectors import checkout_price, plan_name_for_price
from accounts.teams.selectors import billing_manageable
from portal.http import redirect_after_post, safe_next_url
from portal.stripe_client import StripeRequestError, StripeUnavailableError
from pricing.price_maths import amount_format, coupon_describe

_TEMPLATE = "accounts/billing/plan_change.html"


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@verified_email_required
@reauthentication_required(allow_get=True)
def plan_change(request: HttpRequest) -> HttpResponse:
    """Preview a change of plan or seats (GET), or make the change previewed (POST)."""
    holder = request.holder  # type: ignore[attr-defined]
    if holder is None:
        return billing_error(request, message="There is no account to change.", status=403)
    if not billing_manageable(request=request):
        return billing_error(request, message=ADMINS_ONLY, status=403)
    state = request.billing  # type: ignore[attr-defined]
    data = request.POST if request.method == "POST" else request.GET
    # A team pays for one seat per member (seat sync keeps it so): its seats are not chosen.
    members = holder.get_quantity() if app_settings.SUBSCRIPTION_HOLDER == "team" else None
    form = PlanChangeForm(data, state=state, seats_fixed=members)
    if not form.is_valid():
        message = " ".join(error for errors in form.errors.values() for error in errors)
        if request.htmx:  # type: ignore[attr-defined]
            # The seat field's re-render: say what is wrong where the preview was.
            return render(request, "accounts/billing/_change_error.html", {"message": message})
        return billing_error(request, message=message, status=400)
    offer = form.offer
    assert offer is not None
    if not state.is_live:
        # Nothing to change: subscribing is Checkout's job.
        return render(
            request,
            "accounts/subscription_checkout.html",
            {
                "price": checkout_price(price_id=offer.price_id),
                "choice": {"price": offer.price_id, "seats": form.quantity},
            },
        )
    try:
        plan = plan_change_plan(state=state, offer=offer, quantity=form.quantity)
    except PlanChangeError as error:
        return billing_error(request, message=str(error), status=400)
    context = _context(request, plan=plan, per_seat=offer.product.per_seat)
    context["seats_fixed"] = members is not None
    if plan.kind == "current":
        context["notice"] = "That's your current plan."
        return render(request, _TEMPLATE, context, status=400)
    if request.method == "POST":
        token = form.cleaned_data.get("token") or ""
        return _confirm(request, plan=plan, token=token, context=context)
    return _preview_page(request, plan=plan, context=context)


def _context(request: HttpRequest, *, plan: PlanChangePlan, per_seat: bool) -> dict[str, object]:
    currency = plan.new.terms.currency
    return {
        "plan": plan,
        "per_seat": per_seat,
        "current_name": plan_name_for_price(price_id=plan.current.price_id),
        "new_name": plan_name_for_price(price_id=plan.new.price_id),
        "current_total": amount_format(amount=plan.current.total, currency=currency),
        "new_total": amount_format(amount=plan.new.total, currency=currency),
        "next_url": safe_next_url(request, reverse("accounts:subscription")),
    }


def _preview_page(
    request: HttpRequest, *, plan: PlanChangePlan, context: dict[str, object], status: int = 200
) -> HttpResponse:
    at = None
    if plan.applies_now:
        try:
            preview = plan_change_preview(plan=plan)
        except StripeUnavailableError:
            return billing_error(
                request, message=STRIPE_DOWN, status=503, retry_url=request.get_full_path()
            )
        except StripeRequestError as error:
            return billing_error(request, message=str(error), status=400)
        at = preview.proration_date
        context["preview"] = preview
        context["charge"] = _charge_display(preview, state=request.billing)  # type: ignore[attr-defined]
        # During a trial a change is charged nothing: Stripe's preview is then the invoice
        # the trial's end makes (its lines start there), which the page shows as such.
        context["free_in_trial"] = (
            plan.trial_ends is not None
            and preview.starts is not None
            and preview.starts >= plan.trial_ends
        )
    context["token"] = preview_token(
        subscription_id=plan.subscription_id,
        price_id=plan.new.price_id,
        quantity=plan.new.quantity,
        at=at,
    )
    template = f"{_TEMPLATE}#change-preview" if request.htmx else _TEMPLATE  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


def _discount_name(state: BillingState, discount_id: str) -> str | None:
    """ "20% off for 3 months with LAUNCH20", for the subscription's own discount."""
    discount = state.discount
    if discount is None or discount.id != discount_id or discount.coupon is None:
        return None
    code = f" with {discount.code}" if discount.code else ""
    return f"{coupon_describe(coupon=discount.coupon)}{code}"


def _charge_display(preview: PlanChangePreview, *, state: BillingState) -> dict[str, object]:
    """The preview's amounts as the page shows them, to the cent ("$12.34"): its lines, then
    what discounts take off them and the credit that pays part, adding up to what is due."""

    def money(amount: int) -> str:
        return amount_format(amount=amount, currency=preview.currency, cents=True)

    coupon = state.discount.coupon if state.discount is not None else None
    return {
        "due": money(preview.amount_due),
        "lines": [
            {
                "description": line.description,
                "amount": money(line.amount),
                "credit": line.amount < 0,
                "proration": line.proration,
            }
            for line in preview.lines
        ],
        "discounts": [
            {"name": _discount_name(state, line.discount_id), "amount": money(line.amount)}
            for line in preview.discounts
        ],
        # Stripe's prorations are already net of a percent-off discount.
        "discount_in_prorations": (
            preview.discount_in_prorations and coupon is not None and coupon.percent_off is not None
        ),
        "credit_applied": money(preview.credit_applied) if preview.credit_applied else None,
        "credit_left": money(preview.credit_left) if preview.credit_left else None,
    }


def _confirm(
    request: HttpRequest, *, plan: PlanChangePlan, token: str, context: dict[str, object]
) -> HttpResponse:
    try:
        at = preview_token_read(
            token,
            subscription_id=plan.subscription_id,
            price_id=plan.new.price_id,
            quantity=plan.new.quantity,
        )
    except PreviewExpiredError:
        context["notice"] = (
            "Some time has passed, so we worked the amount out again. Check it and confirm."
        )
        return _preview_page(request, plan=plan, context=context, status=409)
    except signing.BadSignature:
        return billing_error(
            request, message="That confirmation is not valid. Please start again.", status=400
        )
    try:
        plan_change_apply(plan=plan, proration_date=at)
    except PlanChangeDeclinedError as error:
        return render(
            request,
            "accounts/billing/plan_change_declined.html",
            {"message": str(error)},
            status=402,
        )
    except StripeUnavailableError:
        return billing_error(request, message=STRIPE_DOWN, status=503)
    except StripeRequestError as error:
        return billing_error(request, message=str(error), status=400)
    holder_groups_sync(holder=request.holder)  # type: ignore[attr-defined]
    name = context["new_name"]
    if plan.applies_now:
        messages.success(request, f"Your plan is now {name}.")
    elif plan.period_end is not None:
        messages.success(
            request, f"Your plan changes to {name} on {plan.period_end:%B} {plan.period_end.day}."
        )
    return redirect_after_post(request, str(context["next_url"]))


@login_required
@require_POST
@verified_email_required
@reauthentication_required
def plan_change_keep(request: HttpRequest) -> HttpResponse:
    """Keep the current plan: cancel the change waiting for the end of the period."""
    if request.holder is None or not billing_manageable(request=request):  # type: ignore[attr-defined]
        return billing_error(request, message=ADMINS_ONLY, status=403)
    try:
        kept = plan_change_cancel(state=request.billing)  # type: ignore[attr-defined]
    except StripeUnavailableError:
        return billing_error(request, message=STRIPE_DOWN, status=503, retry_post={})
    except StripeRequestError as error:
        return billing_error(request, message=str(error), status=400)
    if kept:
        messages.success(request, "You are keeping your current plan.")
    return redirect_after_post(request, reverse("accounts:subscription"))
