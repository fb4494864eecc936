"""Template context every page gets from the accounts app."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def billing(request: HttpRequest) -> dict[str, object]:
    """`billing_past_due`: whether the acting holder's subscription needs its payment fixed
    (base.html shows a banner). Lazy: pages that don't render the banner read nothing."""
    billing_state = getattr(request, "billing", None)
    return {
        "billing_past_due": SimpleLazyObject(
            lambda: billing_state is not None and billing_state.status == "past_due"
        )
    }
