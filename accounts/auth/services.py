"""Writes about accounts' email addresses: recording one as verified, and sending the
verification link again."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.core import ratelimit
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.http import HttpRequest

# `User.objects.create_user` calls this module, so it names the user by Django's abstract
# user, not by `accounts.models.User`, and imports nothing of the models.
User = AbstractUser


@transaction.atomic
def email_address_verified_record(*, user: User, email: str | None = None) -> EmailAddress:
    """Record `email` (the user's own by default) as their verified primary address.

    For addresses someone has vouched for outside allauth's sign-up: an operator creating a
    user, a team invitation accepted from the mailed link.
    """
    email = (email or user.email).strip().lower()
    address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
    if address is None:
        address = EmailAddress(user=user, email=email)
    # The user's own address is their primary one (not `set_as_primary()`, which rewrites
    # `user.email` in allauth's lower case).
    EmailAddress.objects.filter(user=user, primary=True).exclude(pk=address.pk).update(
        primary=False
    )
    address.verified = True
    address.primary = True
    address.save()
    return address


class VerificationMailThrottledError(Exception):
    """A verification mail went to this address moments ago; the earlier link still works."""


def verification_mail_send(*, request: HttpRequest, user: User) -> EmailAddress | None:
    """Mail the user a new link to verify their primary address; None when it is verified.

    Limited as allauth limits its own verification mails (one per address per cooldown):
    raises `VerificationMailThrottledError` within it.
    """
    address = EmailAddress.objects.filter(user=user).order_by("-primary", "-verified", "pk").first()
    if address is None:
        address = EmailAddress.objects.create(
            user=user, email=user.email.lower(), primary=True, verified=False
        )
    if address.verified:
        return None
    if not ratelimit.consume(request, action="confirm_email", key=address.email.lower()):
        raise VerificationMailThrottledError(
            f"We sent a link to {address.email} a moment ago. Wait a few minutes before asking "
            "for another, and check your spam folder."
        )
    address.send_confirmation(request)
    return address
