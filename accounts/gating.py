"""Feature gating: who may see what, by the plan and status of the holder's subscription.

- `subscription_gate(holder=..., limit_to_plans=...)`: a `GateResult` (passed, message) for any
  code path;
- `@active_subscription_required` for function views, `ValidSubscriptionRequiredMixin` for
  class-based views: a visitor without the right plan goes to the pricing page with a message;
- `holder_groups_sync(holder=...)`: put the holder's users (the user, or a team's members) in
  the Django group its plan names (`ProductMetadata.group`), so `user.has_perm` follows the
  plan; `user_groups_sync(user=...)` when a user joins or leaves a team.

Status rules: `active` and `trialing` pass; `past_due` passes for `PORTAL_PAST_DUE_GRACE_DAYS`
days (default 7) from the start of the unpaid period; `canceled`, `incomplete`,
`incomplete_expired`, `unpaid`, `paused` (and anything else) fail. A free trial that ended
without a card (paused, or canceled) says so, and a paused one goes to the status page, where
adding a card resumes it. A subscription set to cancel at the
period's end passes until that moment.

Gating reads the holder's billing state (`accounts.billing.state`, one query); the holder acting
in a request is `request.holder` (`accounts.middleware.HolderMiddleware`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import Group
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from accounts.app_settings import app_settings
from accounts.billing.state import BillingState, billing_state
from accounts.models import SubscriptionHolder
from pricing.catalog import active_products
from pricing.metadata import ProductMetadata

logger = logging.getLogger(__name__)

# Statuses that pass on their own; `past_due` passes only during the grace period.
PASSING_STATUSES = frozenset({"active", "trialing"})

_STATUS_WORDS = {
    "canceled": "has ended",
    "incomplete": "is waiting for its first payment",
    "incomplete_expired": "expired before its first payment",
    "unpaid": "is unpaid",
    "paused": "is paused",
}


# --- Plans ------------------------------------------------------------------------------------


def plans_resolve(names: Iterable[str]) -> list[ProductMetadata]:
    """The plans `names` refer to, each a metadata slug (`"pro"`) or Stripe product id.

    Raises `ImproperlyConfigured` for a name no plan has: a typo would otherwise lock everyone
    out (or in) silently.
    """
    if isinstance(names, str):
        names = [names]
    plans = active_products()
    found: list[ProductMetadata] = []
    for name in names:
        plan = next((p for p in plans if name in (p.slug, p.stripe_id)), None)
        if plan is None:
            known = ", ".join(repr(p.slug) for p in plans) or "none"
            raise ImproperlyConfigured(
                f"No plan {name!r} in pricing.metadata.ACTIVE_PRODUCTS (plans: {known})."
            )
        if plan not in found:
            found.append(plan)
    return found


def plan_names_join(plans: Sequence[ProductMetadata]) -> str:
    """ "Pro", "Pro or Team", "Starter, Pro or Team"."""
    names = [plan.name for plan in plans]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} or {names[-1]}"


# --- What the holder has -------------------------------------------------------------------------


def holder_plan(
    *, holder: SubscriptionHolder | None, state: BillingState | None = None
) -> BillingState | None:
    """The holder's subscription (plan, status, period; see `accounts.billing.state`); None
    without a holder or a subscription. Pass `state` when it is already read
    (`request.billing`) to spare the query."""
    if state is None:
        state = billing_state(holder=holder)
    return state if state.has_subscription else None


# --- The gate ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateResult:
    """Whether a holder passes a gate, and if not, a message that says what to do.

    `reason` is one of "passed", "no_holder", "no_subscription", "status", "grace_ended",
    "period_ended", "trial_ended" (a trial without a card ended without one), "wrong_plan".
    """

    passed: bool
    message: str
    reason: str
    holder_plan: BillingState | None = None
    grace_ends: datetime | None = None

    def __bool__(self) -> bool:
        return self.passed


def subscription_status_passes(
    *, state: BillingState, now: datetime | None = None
) -> tuple[bool, str, datetime | None]:
    """Apply the status rules to one subscription: (passes, reason, grace end if past due)."""
    now = now or timezone.now()
    status = state.status
    if status in PASSING_STATUSES:
        ends = state.ends_at
        if ends is not None and now >= ends:
            # Canceled at the period's end and the end has come, before Stripe's update did.
            return False, "period_ended", None
        return True, "passed", None
    if status == "past_due":
        if state.period_start is None:
            return False, "grace_ended", None
        grace_ends = state.period_start + timedelta(days=app_settings.PAST_DUE_GRACE_DAYS)
        return now < grace_ends, ("passed" if now < grace_ends else "grace_ended"), grace_ends
    return False, "status", None


def subscription_gate(
    *,
    holder: SubscriptionHolder | None,
    limit_to_plans: Iterable[str] | None = None,
    now: datetime | None = None,
    state: BillingState | None = None,
) -> GateResult:
    """Whether `holder` may use a feature: a live subscription (see the status rules), on one
    of `limit_to_plans` (metadata slugs or Stripe product ids) when given.

    Reads the holder's billing state (one query) unless `state` is given (`request.billing`).
    Raises `ImproperlyConfigured` for a plan name that `pricing.metadata` does not list.
    """
    needed = plans_resolve(limit_to_plans) if limit_to_plans is not None else []
    needed_words = f"the {plan_names_join(needed)} plan" if needed else "a subscription"
    if holder is None:
        # Anonymous, or (with teams) a user acting for no team.
        return GateResult(False, f"This needs {needed_words}.", "no_holder")
    current = holder_plan(holder=holder, state=state)
    if current is None:
        return GateResult(
            False, f"This needs {needed_words}. Choose a plan to continue.", "no_subscription"
        )
    passes, reason, grace_ends = subscription_status_passes(state=current, now=now)
    if not passes:
        status = current.status or ""
        if current.trial_ended_without_card:
            reason = "trial_ended"
            message = "Your trial has ended — add a card to continue."
        elif reason == "grace_ended":
            message = (
                "Your payment is overdue, so your plan's features are paused. Update your "
                "payment method with Manage billing to continue."
            )
        else:
            words = (
                "has ended"
                if reason == "period_ended"
                else _STATUS_WORDS.get(status, f"is {status.replace('_', ' ')}")
            )
            then = f"This needs {needed_words}." if needed else "Choose a plan to continue."
            message = f"Your subscription {words}. {then}"
        return GateResult(False, message, reason, current, grace_ends)
    if needed and (current.plan is None or current.plan not in needed):
        on = f" You are on {current.plan.name}." if current.plan is not None else ""
        return GateResult(
            False,
            f"This needs {needed_words}.{on} Upgrade to continue.",
            "wrong_plan",
            current,
            grace_ends,
        )
    return GateResult(True, "", "passed", current, grace_ends)


def request_gate(
    request: HttpRequest, *, limit_to_plans: Iterable[str] | None = None
) -> GateResult:
    """`subscription_gate` for the holder acting in this request (`request.holder`)."""
    return subscription_gate(
        holder=request.holder, limit_to_plans=limit_to_plans, state=request.billing
    )


# --- Views ------------------------------------------------------------------------------------


def _gate_refused(
    request: HttpRequest,
    result: GateResult,
    redirect_url: str | None,
    plans: Sequence[str] | None = None,
) -> HttpResponse:
    messages.warning(request, result.message)
    url = redirect_url or reverse("pricing:pricing_page")
    paused = result.holder_plan is not None and result.holder_plan.status == "paused"
    if redirect_url is None and result.reason == "trial_ended" and paused:
        # Adding a card on the status page resumes the paused subscription.
        url = reverse("accounts:subscription")
    elif redirect_url is None and result.reason == "wrong_plan" and plans:
        # A subscriber on another plan goes straight to the change screen for the plan needed,
        # and back here once it is theirs.
        query = urlencode({"plan": plans[0], "next": request.get_full_path()})
        url = f"{reverse('accounts:plan_change')}?{query}"
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


@overload
def active_subscription_required(view_func: ViewFunc) -> ViewFunc: ...


@overload
def active_subscription_required(
    view_func: None = None,
    *,
    limit_to_plans: Iterable[str] | None = None,
    redirect_url: str | None = None,
) -> Callable[[ViewFunc], ViewFunc]: ...


def active_subscription_required(
    view_func: Callable[..., HttpResponse] | None = None,
    *,
    limit_to_plans: Iterable[str] | None = None,
    redirect_url: str | None = None,
) -> Any:
    """Let a function view run only for holders with a live subscription (on one of
    `limit_to_plans`, metadata slugs such as `"pro"`, when given).

    Use it bare or with arguments, below `@login_required`::

        @login_required
        @active_subscription_required(limit_to_plans=["pro"])
        def pro_report(request, subscription_holder=None): ...

    The view gets the holder as `subscription_holder`. Anyone else is redirected to the pricing
    page (or `redirect_url`) with a message naming the plan needed; an htmx request gets
    `HX-Redirect` instead. An anonymous visitor is sent to log in.
    """
    plans = [plan.slug for plan in plans_resolve(limit_to_plans)] if limit_to_plans else None

    def decorator(func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            result = request_gate(request, limit_to_plans=plans)
            if not result.passed:
                return _gate_refused(request, result, redirect_url, plans)
            kwargs["subscription_holder"] = request.holder
            return func(request, *args, **kwargs)

        return wrapper

    if view_func is not None:
        return decorator(view_func)
    return decorator


class ValidSubscriptionRequiredMixin(LoginRequiredMixin):
    """Let a class-based view run only for logged-in holders with a live subscription.

    - `limit_to_products`: plans that may pass (metadata slugs or Stripe product ids); empty:
      any plan.
    - `redirect_url`: where the others go (default: the pricing page), with a message naming
      the plan needed (`HX-Redirect` for htmx requests).

    The view gets `self.subscription_holder` and `self.gate_result`, and templates get
    `subscription_holder`.
    """

    limit_to_products: Sequence[str] = ()
    redirect_url: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.limit_to_products:
            plans_resolve(cls.limit_to_products)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        result = request_gate(request, limit_to_plans=list(self.limit_to_products) or None)
        if not result.passed:
            plans = [plan.slug for plan in plans_resolve(self.limit_to_products)]
            return _gate_refused(request, result, self.redirect_url, plans)
        self.subscription_holder = request.holder
        self.gate_result = result
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.setdefault("subscription_holder", self.subscription_holder)
        return context


# --- Groups -----------------------------------------------------------------------------------


def plan_group_names() -> set[str]:
    """Every group a plan in `pricing.metadata` names."""
    return {plan.group for plan in active_products() if plan.group}


def _holder_plan_group(holder: SubscriptionHolder) -> str | None:
    """The group the holder's plan names, while its subscription passes the status rules."""
    current = holder_plan(holder=holder)
    if current is None or current.plan is None or not current.plan.group:
        return None
    passes, _, _ = subscription_status_passes(state=current)
    return current.plan.group if passes else None


@transaction.atomic
def user_groups_sync(*, user: Any) -> set[str]:
    """Put the user in the groups their plans name and out of other plans' groups: their own
    plan's in user mode, each of their teams' plans' in team mode. Groups no plan names are
    left alone. Returns the plan groups the user is in afterwards."""
    managed = plan_group_names()
    if not managed:
        return set()
    if app_settings.SUBSCRIPTION_HOLDER == "user":
        holders: list[Any] = [user]
    else:
        holders = [membership.team for membership in user.memberships.select_related("team")]
    wanted = {group for holder in holders if (group := _holder_plan_group(holder))}
    current = set(user.groups.filter(name__in=managed).values_list("name", flat=True))
    for name in wanted - current:
        group, _ = Group.objects.get_or_create(name=name)
        user.groups.add(group)
    stale = current - wanted
    if stale:
        user.groups.remove(*Group.objects.filter(name__in=stale))
    if wanted != current:
        logger.info("Plan groups of %s: %s", user, sorted(wanted) or "none")
    return wanted


@transaction.atomic
def holder_groups_sync(*, holder: SubscriptionHolder) -> set[str]:
    """Bring the groups of the holder's users in step with its plan (see `user_groups_sync`):
    the user's own, or each member's of a team. Returns the plan group the holder's plan gives
    (empty when none, or when its subscription does not pass the status rules)."""
    if not plan_group_names():
        return set()
    memberships = getattr(holder, "memberships", None)
    if getattr(holder, "groups", None) is not None:  # a user
        user_groups_sync(user=holder)
    elif memberships is not None:  # a team
        for membership in memberships.select_related("user"):
            user_groups_sync(user=membership.user)
    group = _holder_plan_group(holder)
    return {group} if group else set()
