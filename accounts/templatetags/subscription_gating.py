"""Template helpers for feature gating: `{% load subscription_gating %}`.

    {% if request|has_active_subscription %}...{% endif %}
    {% if request|has_plan:"pro" %}...{% endif %}          (several: has_plan:"pro,team")
    {% subscription_gate request "pro" as gate %}{% if not gate.passed %}{{ gate.message }}...
    {% holder_plan request as plan %}{{ plan.name }}

Each takes the request (its holder is the one acting) or a holder; given the request, they read
its `request.billing`, which the decorator and the mixin share.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest

from accounts.billing.state import BillingState
from accounts.gating import GateResult, subscription_gate
from accounts.gating import holder_plan as holder_plan_read
from accounts.models import SubscriptionHolder

register = template.Library()


def _subject(subject: Any) -> dict[str, Any]:
    """The holder, and its billing state when the request has read it, for the gate."""
    if isinstance(subject, HttpRequest):
        return {"holder": subject.holder, "state": subject.billing}
    if isinstance(subject, SubscriptionHolder):
        return {"holder": subject}
    return {"holder": None}


def _plans(plans: str) -> list[str]:
    return [name.strip() for name in str(plans).split(",") if name.strip()]


@register.filter
def has_active_subscription(subject: Any) -> bool:
    """Whether the request's holder (or this holder) passes the status rules, on any plan."""
    return subscription_gate(**_subject(subject)).passed


@register.filter
def has_plan(subject: Any, plans: str) -> bool:
    """Whether the request's holder (or this holder) has a live subscription on one of
    `plans`: a slug (`"pro"`) or several, comma-separated (`"pro,team"`)."""
    names = _plans(plans)
    if not names:
        return False
    return subscription_gate(**_subject(subject), limit_to_plans=names).passed


@register.simple_tag(name="subscription_gate")
def subscription_gate_tag(subject: Any, *plans: str) -> GateResult:
    """The gate result (`passed`, `message`) for the request's holder, optionally limited to
    plans: `{% subscription_gate request "pro" as gate %}`."""
    names = [name for value in plans for name in _plans(value)]
    return subscription_gate(**_subject(subject), limit_to_plans=names or None)


@register.simple_tag(name="holder_plan")
def holder_plan_tag(subject: Any) -> BillingState | None:
    """The holder's subscription as gating reads it (`name`, `slug`, `status`, ...), or None."""
    return holder_plan_read(**_subject(subject))
