"""Reads about who holds what. The subscription holder is defined here, in one place."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.app_settings import app_settings
from accounts.models import SubscriptionHolder


def holder_for_request(request: HttpRequest) -> SubscriptionHolder | None:
    """The subscription holder acting in this request: the user (or, in team mode, their team).

    None for anonymous visitors. The result is cached on the request.
    """
    if not hasattr(request, "_subscription_holder"):
        holder: SubscriptionHolder | None = None
        if request.user.is_authenticated:
            if app_settings.SUBSCRIPTION_HOLDER == "user":
                holder = request.user  # type: ignore[assignment]
            else:
                holder = getattr(request, "team", None)
        request._subscription_holder = holder  # type: ignore[attr-defined]
    return request._subscription_holder  # type: ignore[attr-defined]
