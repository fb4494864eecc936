"""Portal's pages around allauth's: sign-up (what it is for), the email gate's page, and the
429 page of the rate limits."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from allauth.account.views import LoginView as AllauthLoginView
from allauth.account.views import SignupView as AllauthSignupView
from allauth.core.exceptions import RateLimited
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.auth.adapter import SESSION_VERIFIED_NEXT_KEY
from accounts.auth.selectors import (
    email_verified,
    invitation_for_next,
    signup_plan_text,
)
from accounts.auth.services import VerificationMailThrottledError, verification_mail_send
from portal.http import redirect_after_post, safe_next_url


class _WhatItIsForMixin:
    """Sign-up's and login's `next`, and what it is for: the plan chosen on the pricing page,
    or the team invitation."""

    request: HttpRequest

    def _next_url(self) -> str:
        return safe_next_url(self.request, "")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        next_url = self._next_url()
        context["chosen_plan"] = signup_plan_text(next_url=next_url)
        context["invitation"] = invitation_for_next(next_url=next_url)
        return context


class SignupView(_WhatItIsForMixin, AllauthSignupView):
    """allauth's sign-up, saying what it is for: the plan chosen on the pricing page ("You are
    signing up for Pro — $50 per month"), or the team invitation (its address locked)."""

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["invitation"] = invitation_for_next(next_url=self._next_url())
        return kwargs


signup = SignupView.as_view()


class LoginView(_WhatItIsForMixin, AllauthLoginView):
    """allauth's login, saying what it is for as sign-up does: the plan chosen on the pricing
    page, or the team invitation, whose address it fills in."""

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        invitation = invitation_for_next(next_url=self._next_url())
        if invitation is not None:
            initial["login"] = invitation.email
        return initial


login = LoginView.as_view()


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def email_verify(request: HttpRequest) -> HttpResponse:
    """Where the email gate sends an unverified user: why billing waits, and a button that
    mails the verification link again. Once the link is followed, they go on to `next`."""
    next_url = safe_next_url(request, reverse("accounts:subscription"))
    if email_verified(user=request.user):  # type: ignore[arg-type]
        return redirect(next_url)
    # Following the link (in this session) comes back to the page the gate kept them from.
    request.session[SESSION_VERIFIED_NEXT_KEY] = next_url
    template = "account/email_verify.html"
    if request.method == "POST":
        try:
            address = verification_mail_send(request=request, user=request.user)  # type: ignore[arg-type]
        except VerificationMailThrottledError as error:
            return render(request, template, {"next": next_url, "error": str(error)}, status=429)
        if address is not None:
            messages.success(request, f"We sent a new link to {address.email}.")
        here = f"{reverse('accounts:email_verify')}?{urlencode({'next': next_url})}"
        return redirect_after_post(request, here)
    return render(request, template, {"next": next_url})


def too_many_requests(request: HttpRequest, exception: RateLimited | None = None) -> HttpResponse:
    """The 429 page of allauth's rate limits (`handler429` in the URLconf)."""
    return render(request, "429.html", status=429)
