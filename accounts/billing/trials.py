"""Free trials: which plans start with one, the one-trial-per-holder rule, and a trial without a
card getting one (and a paused subscription resuming once it has).

A plan's trial is set in `pricing.metadata` (`trial_days`, `trial_requires_card`). Checkout
starts it (`accounts.billing.checkout.checkout_session_create(trial=True)`); Stripe runs it
and, for a trial without a card, ends it as `PORTAL_TRIAL_MISSING_PAYMENT_METHOD` says.

Every Stripe call goes through `portal.stripe_client` and raises our `StripeUnavailableError`
or `StripeRequestError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from accounts.app_settings import app_settings
from accounts.billing.customer_portal import billing_portal_session_create
from accounts.billing.errors import NoBillingAccountError, TrialNotAvailableError
from accounts.models import SubscriptionHolder
from portal.stripe_client import stripe_client, stripe_json, translate_stripe_errors
from pricing.catalog import offer_for_price

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialTerms:
    """The free trial subscribing to a price starts with."""

    days: int
    requires_card: bool

    def checkout_params(self) -> dict[str, Any]:
        """What a Checkout Session needs to start this trial (merged into its params)."""
        subscription_data: dict[str, Any] = {"trial_period_days": self.days}
        params: dict[str, Any] = {"subscription_data": subscription_data}
        if not self.requires_card:
            # Nothing is due today, so Checkout asks for no card; Stripe ends the trial as
            # the setting says if none is added by then.
            params["payment_method_collection"] = "if_required"
            subscription_data["trial_settings"] = {
                "end_behavior": {
                    "missing_payment_method": app_settings.TRIAL_MISSING_PAYMENT_METHOD
                }
            }
        return params


def trial_terms_for_price(*, price_id: str) -> TrialTerms | None:
    """The trial `pricing.metadata` gives the price's plan; None when it has none."""
    offer = offer_for_price(price_id=price_id)
    if offer is None or not offer.product.trial_days:
        return None
    return TrialTerms(
        days=offer.product.trial_days, requires_card=offer.product.trial_requires_card
    )


def holder_had_trial(*, holder: SubscriptionHolder) -> bool:
    """Whether the holder's customer has ever had a free trial, asked of Stripe (not the local
    copy, which a webhook may not have brought yet): any of its subscriptions, ended or not,
    that started with one."""
    if holder.customer is None:
        return False
    with translate_stripe_errors("check your free trial"):
        listed = stripe_client().v1.subscriptions.list(
            params={"customer": holder.customer.id, "status": "all", "limit": 100}
        )
        for subscription in listed.auto_paging_iter():
            if subscription.get("trial_start"):
                return True
    return False


def trial_terms_for_holder(*, holder: SubscriptionHolder, price_id: str) -> TrialTerms:
    """The trial the holder may start on `price_id`. Raises `TrialNotAvailableError` when the
    plan has none or the holder has had its one trial."""
    terms = trial_terms_for_price(price_id=price_id)
    if terms is None:
        raise TrialNotAvailableError("That plan has no free trial.")
    if holder_had_trial(holder=holder):
        raise TrialNotAvailableError(
            "You have already had a free trial, so subscribing starts your plan now."
        )
    return terms


def open_checkouts_expire(*, customer_id: str) -> int:
    """Expire the customer's other open Checkout Sessions, so at most one can still complete:
    a second trial cannot be started from a page opened before the first one. Returns how
    many were expired."""
    client = stripe_client()
    expired = 0
    with translate_stripe_errors("start the checkout"):
        listed = client.v1.checkout.sessions.list(
            params={"customer": customer_id, "status": "open", "limit": 100}
        )
        for session in listed.auto_paging_iter():
            client.v1.checkout.sessions.expire(session.id)
            expired += 1
    return expired


def add_card_session_create(*, holder: SubscriptionHolder, return_url: str) -> str:
    """Stripe's Customer Portal, straight to adding a card: the URL of its page.

    For a trial without a card (to keep the plan when it ends) and a subscription paused
    because its trial ended without one. Raises `NoBillingAccountError` without a customer.
    """
    if holder.customer is None:
        raise NoBillingAccountError("You have no billing account yet. Choose a plan first.")
    return billing_portal_session_create(
        holder=holder,
        return_url=return_url,
        flow_data={
            "type": "payment_method_update",
            "after_completion": {"type": "redirect", "redirect": {"return_url": return_url}},
        },
    )


def paused_subscription_resume(*, holder: SubscriptionHolder) -> str | None:
    """Resume the holder's subscription if Stripe paused it (its trial ended without a card)
    and the customer now has a card: Stripe starts a new period now and charges it. Returns
    the subscription's status afterwards; None when there was nothing to resume. The caller
    syncs the holder afterwards (`holder_subscription_sync`).

    Asks Stripe for the current state, so it is safe to call from the return page and a
    webhook at once: the second finds the subscription active.
    """
    subscription = holder.subscription
    if subscription is None or holder.customer is None:
        return None
    subscription_id, customer_id = subscription.id, holder.customer.id
    client = stripe_client()
    with translate_stripe_errors("resume your subscription"):
        current = client.v1.subscriptions.retrieve(subscription_id)
        if current.status != "paused":
            return None
        customer = client.v1.customers.retrieve(customer_id)
        settings = stripe_json(customer).get("invoice_settings") or {}
        has_card = current.get("default_payment_method") or settings.get("default_payment_method")
        if not has_card:
            return None
        resumed = client.v1.subscriptions.resume(
            subscription_id, params={"billing_cycle_anchor": "now"}
        )
    logger.info("Resumed subscription %s: %s", subscription_id, resumed.status)
    return resumed.status


@dataclass(frozen=True)
class TrialEndInvoice:
    """The invoice a trial's end makes, as Stripe previews it."""

    amount_due: int
    currency: str


def trial_end_invoice_preview(*, subscription_id: str) -> TrialEndInvoice:
    """What Stripe will charge when the subscription's trial ends: its next invoice, previewed
    (so prices, seats and any discount are Stripe's own)."""
    with translate_stripe_errors("preview your first invoice"):
        invoice = stripe_client().v1.invoices.create_preview(
            params={"subscription": subscription_id}
        )
    data = stripe_json(invoice)
    return TrialEndInvoice(
        amount_due=int(data.get("amount_due") or 0), currency=data.get("currency") or "usd"
    )
