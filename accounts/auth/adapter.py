"""Portal's allauth adapter: the behaviour allauth lets a project customise, in one class."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.ratelimit import respond_429
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest

from accounts.auth.decorators import recently_authenticated
from accounts.auth.selectors import invitation_for_next
from portal.http import safe_next_url

# Where a verification link sends a logged-in user once it is followed: the page the email
# gate kept them from (set when the gate shows).
SESSION_VERIFIED_NEXT_KEY = "portal_verified_next"


class PortalAccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Too many failed logins for an address (or from an IP address): answer 429, with
        Portal's page, rather than allauth's form error."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as error:
            if error.code == "too_many_login_attempts":
                # allauth's middleware sends the response.
                raise ImmediateHttpResponse(respond_429(request)) from error
            raise

    def is_email_verified(self, request: HttpRequest, email: str) -> bool:
        """A sign-up from a team invitation's link, with the invited address: the invitation
        was mailed there, so following it proves the address as the verification link would."""
        next_url = safe_next_url(request, "") if request is not None else ""
        invitation = invitation_for_next(next_url=next_url)
        return invitation is not None and invitation.email.lower() == email.lower()

    def get_login_stages(self) -> list[str]:
        stages = super().get_login_stages()
        return [
            "accounts.auth.stages.SignupEmailVerificationStage"
            if stage == "allauth.account.stages.EmailVerificationStage"
            else stage
            for stage in stages
        ]

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """allauth's own sensitive pages (setting up two-factor authentication, changing the
        address) count a recent login as recent, as Portal's `reauthentication_required` does,
        rather than asking for the password again just after it was typed."""
        if self.request is not None and recently_authenticated(self.request):
            return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def get_email_verification_redirect_url(self, email_address: Any) -> str | None:
        """Back to the page the email gate kept the user from, if it did."""
        request = self.request
        if request is not None and request.user.is_authenticated:
            next_url = request.session.pop(SESSION_VERIFIED_NEXT_KEY, None)
            if next_url:
                return next_url
        return super().get_email_verification_redirect_url(email_address)


class PortalSocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request: HttpRequest | None, provider: str, client_id: str | None = None):
        """A provider whose client id and secret are not set is not offered: its login URL is
        a 404, not an error."""
        try:
            return super().get_app(request, provider=provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise Http404(f"Logging in with {provider} is not set up on this site.") from None
