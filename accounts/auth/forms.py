"""Portal's sign-up form, on allauth's (`ACCOUNT_FORMS["signup"]`)."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm

from accounts.models import Invitation


class SignupForm(AllauthSignupForm):
    """Email and password twice. A sign-up from a team invitation has the invited address
    filled in and locked (`invitation`): the invitation is for that address only."""

    def __init__(self, *args: Any, invitation: Invitation | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "password2" in self.fields:
            self.fields["password2"].label = "Password confirmation"
        if invitation is not None:
            email = self.fields["email"]
            email.initial = invitation.email
            # A disabled field ignores what is posted and keeps its initial value.
            email.disabled = True
            email.help_text = f"The address {invitation.team.name}'s invitation was sent to."
