"""The login stage that asks for a verified address: at sign-up only."""

from __future__ import annotations

from allauth.account.app_settings import EmailVerificationMethod
from allauth.account.stages import EmailVerificationStage
from allauth.account.utils import has_verified_email
from django.contrib import messages
from django.http import HttpResponse


class SignupEmailVerificationStage(EmailVerificationStage):
    """allauth's verification stage, except that only a sign-up waits for the mailed link.

    With mandatory verification a new account is not logged in until its address is verified,
    so sign-up answers the same whether or not the address already has an account. A later
    login to an account whose address is still unverified goes through: the person can look
    around, and the email gate (`accounts.auth.decorators.verified_email_required`) keeps them
    from Checkout and billing, with a button to send the link again.
    """

    def handle(self) -> tuple[HttpResponse | None, bool]:
        login = self.login
        mandatory = login.email_verification == EmailVerificationMethod.MANDATORY
        if not mandatory or login.signup:
            return super().handle()
        if not has_verified_email(login.user, login.email):
            messages.info(
                self.request,
                "Your email address is not verified yet: follow the link we mailed you before "
                "you subscribe or manage billing.",
            )
        return None, True
