"""Template context every page gets from the accounts app."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.selectors import holder_for_request, holder_is_past_due


def billing(request: HttpRequest) -> dict[str, object]:
    """`billing_past_due`: whether the acting holder's subscription needs its payment fixed
    (base.html shows a banner). Lazy: pages that don't render the banner pay no query."""
    return {
        "billing_past_due": SimpleLazyObject(
            lambda: holder_is_past_due(holder=holder_for_request(request))
        )
    }
