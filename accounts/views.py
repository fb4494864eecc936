from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe
from django.views.generic import TemplateView

from accounts.app_settings import app_settings
from accounts.auth.decorators import reauthentication_required, verified_email_required
from accounts.auth.selectors import account_security
from accounts.billing.checkout import (
    checkout_session_create,
    checkout_session_sync,
    holder_subscription_sync,
)
from accounts.billing.customer_portal import billing_portal_session_create
from accounts.billing.errors import (
    CheckoutSessionNotYoursError,
    CheckoutSessionUnknownError,
    HolderAlreadySubscribedError,
    NoBillingAccountError,
    PromotionCodeRefusedError,
    SubscriptionPausedError,
    TrialNotAvailableError,
)
from accounts.billing.pages import ADMINS_ONLY, STRIPE_DOWN, billing_error
from accounts.billing.state import billing_state
from accounts.billing.trials import (
    add_card_session_create,
    paused_subscription_resume,
    trial_terms_for_price,
)
from accounts.forms import ProfileForm
from accounts.gating import (
    ValidSubscriptionRequiredMixin,
    active_subscription_required,
    holder_plan,
)
from accounts.middleware import request_holder_set
from accounts.models import SubscriptionHolder
from accounts.selectors import (
    absolute_url,
    checkout_price,
    checkout_promotion,
    invoice_summaries,
    price_is_per_seat,
    subscription_summary,
)
from accounts.teams.selectors import billing_manageable
from accounts.usage.views import demo_usage, usage_panel_context
from portal.http import redirect_after_post
from portal.stripe_client import StripeRequestError, StripeUnavailableError
from pricing.catalog import active_intervals
from pricing.promotions import PROMO_CODE_ERROR, promo_code_clean
from pricing.selectors import SEATS_MAX, SEATS_MIN, catalog_for_page


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profile saved.")
        return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "security": account_security(user=request.user)},  # type: ignore[arg-type]
    )


# --- Subscription Demo: examples of feature gating ---------------------------------------------


@login_required
@require_safe
def subscription_demo(request: HttpRequest) -> HttpResponse:
    """Content that changes with the plan, links to gated pages, the subscription's details."""
    holder = request.holder
    return render(
        request,
        "accounts/subscription_demo.html",
        {
            "holder_plan": holder_plan(holder=holder, state=request.billing),
            "summary": subscription_summary(state=request.billing),
            "api_usage": demo_usage(request),
        },
    )


@login_required
@require_safe
@active_subscription_required(limit_to_plans=["pro"])
def subscription_demo_pro(
    request: HttpRequest, subscription_holder: SubscriptionHolder | None = None
) -> HttpResponse:
    """A page for the Pro plan only (the decorator sends everyone else to the pricing page)."""
    return render(
        request,
        "accounts/subscription_demo_pro.html",
        {"holder_plan": holder_plan(holder=subscription_holder, state=request.billing)},
    )


class SubscriptionDemoMembersView(ValidSubscriptionRequiredMixin, TemplateView):
    """A page for subscribers on any plan (the class-based way)."""

    template_name = "accounts/subscription_demo_members.html"


# --- Subscription: checkout, confirmation, status, Manage billing --------------------------------


def _seats_from(raw: str | None) -> int | None:
    """The seats asked for: None when not given; raises ValueError when out of range."""
    if raw in (None, ""):
        return None
    seats = int(raw)
    if not SEATS_MIN <= seats <= SEATS_MAX:
        raise ValueError(seats)
    return seats


@require_http_methods(["GET", "HEAD", "POST"])
@verified_email_required
def subscription_checkout(request: HttpRequest) -> HttpResponse:
    """Subscribe to a plan: POST `price` (and `seats`, and a `promo` code) to go to Stripe
    Checkout.

    GET shows the chosen plan with a button to continue; it is where a visitor who had to sign
    up first lands, with their choice intact. A promotion code that cannot be used (any more,
    by this customer, for this plan) is dropped with a message saying why.
    """
    data = request.POST if request.method == "POST" else request.GET
    price = checkout_price(price_id=data.get("price", ""))
    if price is None:
        return billing_error(
            request, message="That plan is not available. Choose one on the pricing page.",
            status=400,
        )  # fmt: skip
    try:
        seats = _seats_from(data.get("seats"))
    except ValueError:
        return billing_error(
            request,
            message=f"Seats must be a whole number from {SEATS_MIN} to {SEATS_MAX:,}.",
            status=400,
        )
    trial = data.get("trial") == "1"
    promo = data.get("promo", "").strip()
    code = promo_code_clean(promo)
    if promo and code is None:
        return billing_error(request, message=PROMO_CODE_ERROR, status=400)
    holder = request.holder
    promotion = None
    if code:
        promotion = checkout_promotion(
            code=code,
            price=price,
            seats=seats,
            customer_id=getattr(holder, "customer_id", None),
        )
        if promotion.message:
            messages.warning(request, promotion.message)
    choice = {
        "price": price.id,
        **({"seats": str(seats)} if seats else {}),
        **({"trial": "1"} if trial else {}),
        **({"promo": promotion.promotion.code} if promotion and promotion.promotion else {}),
    }
    if not request.user.is_authenticated:
        here = f"{reverse('accounts:subscription_checkout')}?{urlencode(choice)}"
        signup_url = f"{reverse('account_signup')}?{urlencode({'next': here})}"
        return redirect_after_post(request, signup_url)
    if holder is None and app_settings.SUBSCRIPTION_HOLDER == "team":
        # Teams hold subscriptions, and this user is in none yet: create one, then come back.
        messages.info(
            request,
            "Create your team first: the team holds the subscription, and everyone you invite "
            "to it shares the plan.",
        )
        here = f"{reverse('accounts:subscription_checkout')}?{urlencode(choice)}"
        teams = f"{reverse('accounts:team_list')}?{urlencode({'next': here})}"
        return redirect_after_post(request, teams)
    if holder is None:
        return billing_error(request, message="There is no account to subscribe.", status=403)
    if request.method != "POST":
        terms = trial_terms_for_price(price_id=price.id) if trial else None
        if terms is not None and request.billing.had_trial:
            terms = None
            choice.pop("trial")
        return render(
            request,
            "accounts/subscription_checkout.html",
            {
                "price": price,
                "seats": seats,
                "choice": choice,
                "trial": terms,
                "promotion": promotion if promotion and promotion.promotion else None,
            },
        )
    if not billing_manageable(request=request):
        return billing_error(request, message=ADMINS_ONLY, status=403)
    if promotion is not None and promotion.promotion is None:
        # The code cannot be used: say so before anything is paid, on the plan's page.
        return redirect_after_post(
            request, f"{reverse('accounts:subscription_checkout')}?{urlencode(choice)}"
        )
    if not price_is_per_seat(price=price):
        seats = None
    elif app_settings.SUBSCRIPTION_HOLDER == "team":
        seats = holder.get_quantity()
    confirm = reverse("accounts:subscription_confirm")
    # Back from Checkout lands on the pricing page at the plan's interval (and team size),
    # saying that nothing was charged.
    interval = (price.recurring or {}).get("interval")
    back = {"interval": interval, **({"seats": str(seats)} if seats else {})}
    canceled = f"{reverse('accounts:subscription_checkout_canceled')}?{urlencode(back)}"
    try:
        checkout_url = checkout_session_create(
            holder=holder,
            price_id=price.id,
            quantity=seats,
            # Stripe fills in {CHECKOUT_SESSION_ID}; it must stay unescaped.
            success_url=absolute_url(path=confirm) + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=absolute_url(path=canceled),
            trial=trial,
            promotion_code_id=(
                promotion.promotion.promotion_code_id
                if promotion is not None and promotion.promotion is not None
                else None
            ),
        )
    except PromotionCodeRefusedError as error:
        # Used up or expired since the page was shown: say so, and go on without it.
        messages.error(request, f"Your promotion code could not be applied: {error}")
        choice.pop("promo", None)
        here = f"{reverse('accounts:subscription_checkout')}?{urlencode(choice)}"
        return redirect_after_post(request, here)
    except TrialNotAvailableError as error:
        # A forged or replayed trial: say why, and offer the plan without one.
        messages.error(request, str(error))
        choice.pop("trial")
        here = f"{reverse('accounts:subscription_checkout')}?{urlencode(choice)}"
        return redirect_after_post(request, here)
    except SubscriptionPausedError as error:
        messages.info(request, str(error))
        return redirect_after_post(request, reverse("accounts:subscription"))
    except HolderAlreadySubscribedError:
        # Already a subscriber: the change screen shows what moving to this plan costs.
        change = f"{reverse('accounts:plan_change')}?{urlencode(choice)}"
        return redirect_after_post(request, change)
    except StripeUnavailableError:
        return billing_error(request, message=STRIPE_DOWN, status=503, retry_post=choice)
    except StripeRequestError as error:
        return billing_error(
            request, message=f"Checkout could not start: {error}", status=400, retry_post=choice
        )
    return redirect_after_post(request, checkout_url)


@require_safe
def subscription_checkout_canceled(request: HttpRequest) -> HttpResponse:
    """Where Checkout's Back leads: the pricing page (at the interval and team size chosen),
    with a word that nothing was charged."""
    query = {}
    if request.GET.get("interval") in active_intervals():
        query["interval"] = request.GET["interval"]
    try:
        seats = _seats_from(request.GET.get("seats"))
    except ValueError:
        seats = None
    if seats:
        query["seats"] = str(seats)
    messages.info(
        request, "You left Checkout before paying, so nothing was charged. Your plans are below."
    )
    pricing = reverse("pricing:pricing_page")
    return redirect(f"{pricing}?{urlencode(query)}" if query else pricing)


@login_required
@require_safe
def subscription_confirm(request: HttpRequest) -> HttpResponse:
    """Where Stripe Checkout sends the buyer back: sync the subscription now, then show it."""
    session_id = request.GET.get("session_id", "")
    if not session_id:
        return billing_error(request, message="The checkout session is missing.", status=400)
    holder = request.holder
    try:
        synced = checkout_session_sync(session_id=session_id, holder=holder)
    except CheckoutSessionNotYoursError as error:
        return billing_error(request, message=str(error), status=403)
    except CheckoutSessionUnknownError as error:
        return billing_error(request, message=str(error), status=404)
    except StripeUnavailableError:
        return billing_error(
            request,
            message="Your payment went through, but we couldn't confirm it with our payment "
            "provider yet. Please try again in a moment.",
            status=503,
            retry_url=request.get_full_path(),
        )
    except StripeRequestError as error:
        return billing_error(request, message=str(error), status=400)
    if synced is None:
        messages.warning(request, "Your checkout isn't finished yet, so nothing was charged.")
        return redirect("pricing:pricing_page")
    state = billing_state(holder=synced)
    if state.is_trialing and state.trial_end is not None:
        messages.success(
            request,
            f"Your free trial of {state.name or 'your plan'} has started. It ends on "
            f"{state.trial_end:%B} {state.trial_end.day}.",
        )
    else:
        messages.success(request, "Thank you! Your subscription is active.")
    return redirect("accounts:subscription")


@login_required
@require_safe
def subscription(request: HttpRequest) -> HttpResponse:
    """The holder's plan, status, card and invoices, and the Manage billing button."""
    holder = request.holder
    if holder is not None and request.GET.get("from") == "billing-portal":
        # Back from the Customer Portal: read the changes now rather than wait for webhooks
        # (and resume a subscription paused for want of a card, now that one may be there).
        try:
            if request.billing.status == "paused":
                paused_subscription_resume(holder=holder)
            holder_subscription_sync(holder=holder)
        except (StripeUnavailableError, StripeRequestError):
            messages.warning(
                request,
                "We couldn't load your latest billing changes yet; they will show up shortly.",
            )
        else:
            request_holder_set(request)  # read the billing state the sync just wrote
    summary = subscription_summary(state=request.billing)
    context: dict[str, object] = {"summary": summary}
    if summary is not None:
        context |= usage_panel_context(request)
    if summary is None:
        seats = holder.get_quantity() if holder is not None else 1
        context["catalog"] = catalog_for_page(
            interval=active_intervals()[0],
            seats=max(SEATS_MIN, min(SEATS_MAX, seats)),
            trial_offered=not request.billing.had_trial,
        )
    return render(request, "accounts/subscription.html", context)


# How many invoices the status page lists, and the invoices page.
_LATEST_INVOICES = 5
_ALL_INVOICES = 36


@login_required
@require_safe
def subscription_invoices(request: HttpRequest) -> HttpResponse:
    """The holder's invoices: the latest few for the status page (which loads them with htmx),
    else a page of them."""
    limit = _LATEST_INVOICES if request.htmx else _ALL_INVOICES  # type: ignore[attr-defined]
    invoices = invoice_summaries(customer_id=request.billing.customer_id, limit=limit + 1)  # type: ignore[attr-defined]
    context: dict[str, object] = {"invoices": invoices[:limit]}
    if request.htmx:  # type: ignore[attr-defined]
        if len(invoices) > limit:
            context["more_url"] = reverse("accounts:subscription_invoices")
        return render(request, "accounts/_invoice_list.html", context)
    return render(request, "accounts/subscription_invoices.html", context)


def _customer_portal_open(
    request: HttpRequest, open_session: Callable[[SubscriptionHolder, str], str]
) -> HttpResponse:
    """Send a billing manager of the acting holder to Stripe's Customer Portal (the session
    `open_session(holder, return_url)` creates), and back to the status page afterwards."""
    holder = request.holder
    if holder is None:
        return billing_error(request, message="There is no account to manage.", status=403)
    if not billing_manageable(request=request):
        return billing_error(request, message=ADMINS_ONLY, status=403)
    return_path = f"{reverse('accounts:subscription')}?from=billing-portal"
    try:
        portal_url = open_session(holder, absolute_url(path=return_path))
    except NoBillingAccountError as error:
        messages.info(request, str(error))
        return redirect_after_post(request, reverse("pricing:pricing_page"))
    except StripeUnavailableError:
        return billing_error(
            request,
            message="We couldn't reach our payment provider to open billing management. "
            "Please try again.",
            status=503,
            retry_post={},
        )
    except StripeRequestError as error:
        return billing_error(request, message=str(error), status=400, retry_post={})
    return redirect_after_post(request, portal_url)


@login_required
@require_http_methods(["POST"])
@verified_email_required
@reauthentication_required
def billing_portal(request: HttpRequest) -> HttpResponse:
    """Manage billing: open Stripe's Customer Portal for the holder, back to the status page."""
    return _customer_portal_open(
        request,
        lambda holder, return_url: billing_portal_session_create(
            holder=holder, return_url=return_url
        ),
    )


@login_required
@require_http_methods(["POST"])
@verified_email_required
@reauthentication_required
def subscription_add_card(request: HttpRequest) -> HttpResponse:
    """Add a card (Stripe's Customer Portal, straight to its card form): to keep a plan whose
    trial asked for none, or to resume one paused when its trial ended without one."""
    return _customer_portal_open(
        request,
        lambda holder, return_url: add_card_session_create(holder=holder, return_url=return_url),
    )
