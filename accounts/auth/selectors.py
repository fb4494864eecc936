"""Reads about accounts: whether an address is verified, and what a sign-up is for (a plan
chosen on the pricing page, or a team invitation) as its `next` URL says."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from allauth.account import app_settings as allauth_settings
from allauth.account.models import EmailAddress
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.urls import Resolver404, resolve, reverse

from accounts.models import Invitation, User
from accounts.teams.selectors import invitation_for_token
from pricing.catalog import offer_for_price
from pricing.price_maths import amount_format, price_total
from pricing.promotions import plan_discount, promo_code_clean, promotion_lookup
from pricing.selectors import SEATS_MAX, SEATS_MIN


def email_verification_mandatory() -> bool:
    """Whether billing needs a verified address (`ACCOUNT_EMAIL_VERIFICATION=mandatory`)."""
    return allauth_settings.EMAIL_VERIFICATION == allauth_settings.EmailVerificationMethod.MANDATORY


def email_verified(*, user: User) -> bool:
    """Whether the user's primary address (the one they log in with) is verified.

    Every user has one: sign-up records it (unverified until the mailed link is followed),
    `User.objects.create_user` records it verified, and a data migration gave every user
    who existed before allauth theirs, verified. A user without one is not verified.
    """
    return EmailAddress.objects.filter(user=user, primary=True, verified=True).exists()


def billing_blocked_by_email(*, user: User) -> bool:
    """Whether the email gate keeps this user from billing: verification is mandatory and a
    logged-in user's address is not verified yet."""
    return (
        user.is_authenticated and email_verification_mandatory() and not email_verified(user=user)
    )


def _local_path(next_url: str | None) -> tuple[str, dict[str, list[str]]] | None:
    if not next_url or not next_url.startswith("/") or next_url.startswith("//"):
        return None
    parts = urlsplit(next_url)
    return parts.path, parse_qs(parts.query)


def signup_plan_text(*, next_url: str | None) -> str | None:
    """What a sign-up that continues to Checkout is for: "Pro — $50 per month", with the seats,
    the free trial and the promotion code when chosen; None when `next` is not Checkout with an
    offered price."""
    local = _local_path(next_url)
    if local is None or local[0] != reverse("accounts:subscription_checkout"):
        return None
    query = local[1]
    offer = offer_for_price(price_id=(query.get("price") or [""])[0])
    if offer is None:
        return None
    seats_raw = (query.get("seats") or [""])[0]
    seats = int(seats_raw) if seats_raw.isdigit() else None
    if seats is not None and not SEATS_MIN <= seats <= SEATS_MAX:
        seats = None
    if not offer.product.per_seat:
        seats = None
    terms = offer.terms
    total = price_total(terms=terms, quantity=seats or 1)
    amount = amount_format(amount=total, currency=terms.currency)
    period = (
        offer.interval if terms.interval_count == 1 else f"{terms.interval_count} {offer.interval}s"
    )
    text = f"{offer.product.name} — {amount} per {period}"
    if seats is not None:
        text += f" for {seats} seat{'s' if seats != 1 else ''}"
    if (query.get("trial") or [""])[0] == "1" and offer.product.trial_days:
        text += f", starting with a {offer.product.trial_days}-day free trial"
    code = promo_code_clean((query.get("promo") or [""])[0])
    promotion = promotion_lookup(code=code).usable if code else None
    if promotion is not None:
        discount = plan_discount(
            promotion=promotion,
            product_id=offer.product.stripe_id,
            plan_name=offer.product.name,
            total=total,
            currency=terms.currency,
        )
        if discount.applies:
            text += f", {promotion.description}"
    return text


def invitation_for_next(*, next_url: str | None) -> Invitation | None:
    """The pending team invitation a sign-up continues to (`next` is its link), if any."""
    local = _local_path(next_url)
    if local is None:
        return None
    try:
        match = resolve(local[0])
    except Resolver404:
        return None
    if match.view_name != "accounts:team_invitation":
        return None
    invitation = invitation_for_token(token=match.kwargs.get("token", ""))
    return invitation if invitation is not None and invitation.is_pending else None


@dataclass(frozen=True)
class AccountSecurity:
    """What the profile page says about logging in: the address and whether it is verified,
    two-factor authentication, and whether social login is offered."""

    email: str
    email_verified: bool
    two_factor: bool
    social_login: bool


def account_security(*, user: User) -> AccountSecurity:
    return AccountSecurity(
        email=user.email,
        email_verified=email_verified(user=user),
        two_factor=is_mfa_enabled(user),
        social_login=bool(settings.SOCIALACCOUNT_PROVIDERS),
    )
