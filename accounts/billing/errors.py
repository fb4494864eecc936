"""What can go wrong when a holder checks out or manages billing, in words for the person."""

from __future__ import annotations


class CheckoutError(Exception):
    """A checkout or billing request that cannot go ahead; the message says why, for the user."""


class HolderAlreadySubscribedError(CheckoutError):
    """The holder already has a live subscription: plan changes go through Manage billing."""


class CheckoutSessionUnknownError(CheckoutError):
    """The checkout session does not exist, or was not started by Portal."""


class CheckoutSessionNotYoursError(CheckoutError):
    """The checkout session belongs to another holder."""


class NoBillingAccountError(CheckoutError):
    """The holder has no Stripe customer yet, so there is no billing to manage."""


class TrialNotAvailableError(CheckoutError):
    """A free trial was asked for that the plan does not offer, or the holder has had its one."""


class SubscriptionPausedError(CheckoutError):
    """The holder's subscription is paused (its trial ended without a card): adding a card
    resumes it, so a new Checkout would make a second one."""


class PromotionCodeRefusedError(CheckoutError):
    """Stripe refused the promotion code a Checkout was to start with (expired, used up, not
    for this customer...); the message is Stripe's reason."""
