"""The page a billing request that cannot go ahead shows, and the words it often says."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

ADMINS_ONLY = "Only your team's admins can manage its plan and billing."
STRIPE_DOWN = "We couldn't reach our payment provider. Nothing was charged; please try again."


def billing_error(
    request: HttpRequest,
    *,
    message: str,
    status: int,
    retry_post: dict[str, str] | None = None,
    retry_url: str | None = None,
) -> HttpResponse:
    """A page that says what went wrong and offers a retry: a button re-posting `retry_post` to
    this URL, or a link to `retry_url`."""
    return render(
        request,
        "accounts/subscription_error.html",
        {"message": message, "retry_post": retry_post, "retry_url": retry_url},
        status=status,
    )
