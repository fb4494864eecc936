"""Checkout and the holder's link to its subscription: Stripe customers, Checkout Sessions,
and keeping `holder.customer`/`holder.subscription` current.

Every Stripe call goes through `portal.stripe_client` and raises our `StripeUnavailableError`
or `StripeRequestError`; nothing is written locally unless Stripe answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import OperationalError, transaction
from django.db.models import F
from djstripe.models import Customer, Invoice, PaymentMethod, Subscription

from accounts.app_settings import app_settings
from accounts.billing.discounts import (
    INVOICE_LIST_EXPAND,
    SUBSCRIPTION_EXPAND,
    subscription_discounts_sync,
)
from accounts.billing.errors import (
    CheckoutSessionNotYoursError,
    CheckoutSessionUnknownError,
    HolderAlreadySubscribedError,
    PromotionCodeRefusedError,
    SubscriptionPausedError,
)
from accounts.billing.state import LIVE_STATUSES, billing_state
from accounts.billing.trials import open_checkouts_expire, trial_terms_for_holder
from accounts.models import SubscriptionHolder
from accounts.selectors import (
    HOLDER_METADATA_KEY,
    holder_for_customer,
    holder_for_reference,
    holder_reference,
)
from portal.stripe_client import (
    StripeRequestError,
    StripeUnavailableError,
    stripe_client,
    translate_stripe_errors,
)
from pricing.catalog import offer_for_price
from pricing.services import coupon_sync, promotion_code_sync

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# How many of the customer's latest invoices the status page lists (and so are synced).
LATEST_INVOICES = 5


def _holder_locked(holder: SubscriptionHolder) -> SubscriptionHolder:
    """The holder's row, re-read and locked until the end of the transaction.

    Call it first in the transaction. The no-op write takes the lock on every database:
    SQLite ignores `select_for_update`, but a write takes its database lock, which a second
    transaction then waits for instead of failing on a read-then-write upgrade.
    """
    manager = holder._meta.model._default_manager
    manager.filter(pk=holder.pk).update(
        billing_details_last_changed=F("billing_details_last_changed")
    )
    return manager.select_for_update().get(pk=holder.pk)


def _same_holder(first: SubscriptionHolder, second: SubscriptionHolder) -> bool:
    return first._meta.model is second._meta.model and first.pk == second.pk


# --- Customers --------------------------------------------------------------------------------


@transaction.atomic
def holder_customer_ensure(*, holder: SubscriptionHolder) -> Customer:
    """The holder's Stripe customer: the linked one, or a new one created and linked.

    The holder's row is locked while this runs, so two requests at once create one customer.
    """
    locked = _holder_locked(holder)
    if locked.customer_id:
        holder.customer_id = locked.customer_id
        return locked.customer  # type: ignore[return-value]
    reference = holder_reference(holder=locked)
    params: dict[str, Any] = {
        "email": locked.billing_email,
        "metadata": {HOLDER_METADATA_KEY: reference},
    }
    if locked.billing_name:
        params["name"] = locked.billing_name
    with translate_stripe_errors("create your billing account"):
        created = stripe_client().v1.customers.create(params=params)
        customer = Customer.sync_from_stripe_data(created)
    locked.customer = customer
    locked.save(update_fields=["customer"])
    holder.customer = customer
    return customer


# --- Checkout ---------------------------------------------------------------------------------


def _line_items(*, price_id: str, quantity: int | None) -> list[dict[str, Any]]:
    """The plan's price for the seats, and the metered prices that bill its usage (which
    take no quantity)."""
    offer = offer_for_price(price_id=price_id)
    metered = offer.metered if offer is not None else ()
    return [
        {"price": price_id, "quantity": quantity or 1},
        *({"price": price.id} for price in metered),
    ]


def checkout_session_create(
    *,
    holder: SubscriptionHolder,
    price_id: str,
    quantity: int | None,
    success_url: str,
    cancel_url: str,
    trial: bool = False,
    promotion_code_id: str | None = None,
) -> str:
    """Start a Stripe Checkout for `price_id` and return the hosted page's URL.

    The holder's customer is reused (or created and linked); the session names the holder in
    `client_reference_id`. `quantity` is the number of seats for per-seat plans (None: 1).
    `trial`: start with the plan's free trial (see `accounts.billing.trials`); the holder's
    other open Checkout Sessions are expired first, so only this one can start a trial.
    `promotion_code_id`: a promotion code to start with (`discounts`); without one, Checkout
    offers a code field when `PORTAL_CHECKOUT_ALLOW_PROMOTION_CODES` is on (Stripe takes only
    one of the two).
    Raises `HolderAlreadySubscribedError` when the holder already has a live subscription,
    `SubscriptionPausedError` when its trial ended without a card and it waits for one,
    `TrialNotAvailableError` for a trial the plan has not or the holder has had, and
    `PromotionCodeRefusedError` when Stripe refuses the promotion code.
    """
    state = billing_state(holder=holder)
    if state.is_live:
        raise HolderAlreadySubscribedError(
            "You already have a subscription: change its plan instead."
        )
    if state.status == "paused":
        raise SubscriptionPausedError(
            "Your trial has ended. Add a card to continue your subscription."
        )
    terms = trial_terms_for_holder(holder=holder, price_id=price_id) if trial else None
    customer = holder_customer_ensure(holder=holder)
    if terms is not None:
        open_checkouts_expire(customer_id=customer.id)
    params: dict[str, Any] = {
        "mode": "subscription",
        "customer": customer.id,
        "client_reference_id": holder_reference(holder=holder),
        # The subscription names its holder too, for webhooks that arrive without the session.
        "subscription_data": {"metadata": {HOLDER_METADATA_KEY: holder_reference(holder=holder)}},
        "line_items": _line_items(price_id=price_id, quantity=quantity),
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if promotion_code_id:
        params["discounts"] = [{"promotion_code": promotion_code_id}]
    else:
        params["allow_promotion_codes"] = app_settings.CHECKOUT_ALLOW_PROMOTION_CODES
    if terms is not None:
        trial_params = terms.checkout_params()
        params["subscription_data"].update(trial_params.pop("subscription_data"))
        params.update(trial_params)
    try:
        with translate_stripe_errors("start the checkout"):
            session = stripe_client().v1.checkout.sessions.create(params=params)
    except StripeRequestError as error:
        if promotion_code_id and (error.param or "").startswith("discounts"):
            _promotion_code_refresh(promotion_code_id)
            raise PromotionCodeRefusedError(str(error)) from error
        raise
    return session.url  # type: ignore[return-value]


def _promotion_code_refresh(promotion_code_id: str) -> None:
    """Read a code Stripe refused back in, with its coupon (used up or expired since they were
    synced: redemptions send no event), so the pricing page stops offering it. Best effort: the
    refusal is what matters to the person."""
    try:
        code = promotion_code_sync(promotion_code_id=promotion_code_id)
        coupon_id = (code.stripe_data.get("promotion") or {}).get("coupon")
        if isinstance(coupon_id, str):
            coupon_sync(coupon_id=coupon_id)
    except (StripeRequestError, StripeUnavailableError):
        logger.warning("Could not read promotion code %s again", promotion_code_id)


def checkout_session_sync(
    *, session_id: str, holder: SubscriptionHolder | None = None
) -> SubscriptionHolder | None:
    """Bring a Checkout session's customer and subscription in, and link them to its holder.

    Safe to call any number of times, and from the confirm page and the webhook at once: the
    holder's row is locked while linking, so both give the same result. Returns the holder once
    the session is complete, None while it is still open (or expired unpaid).
    Raises `CheckoutSessionUnknownError` for a session Portal did not start, and
    `CheckoutSessionNotYoursError` when `holder` is given and the session is someone else's.
    """
    if not session_id.startswith("cs_"):
        raise CheckoutSessionUnknownError("That checkout session does not exist.")
    try:
        with translate_stripe_errors("confirm your checkout"):
            session = stripe_client().v1.checkout.sessions.retrieve(
                session_id,
                params={
                    "expand": [
                        "subscription",
                        "customer",
                        *(f"subscription.{field}" for field in SUBSCRIPTION_EXPAND),
                    ]
                },
            )
    except StripeRequestError as error:
        if error.code == "resource_missing":
            raise CheckoutSessionUnknownError("That checkout session does not exist.") from error
        raise
    data = session
    owner = holder_for_reference(reference=data.get("client_reference_id"))
    if owner is None:
        raise CheckoutSessionUnknownError("That checkout session was not started here.")
    if holder is not None and not _same_holder(holder, owner):
        logger.warning(
            "Refused checkout session %s of %s to %s",
            session_id,
            holder_reference(holder=owner),
            holder_reference(holder=holder),
        )
        raise CheckoutSessionNotYoursError("That checkout session belongs to another account.")
    if data.get("mode") != "subscription" or data.get("status") != "complete":
        return None
    subscription = data.get("subscription")
    customer = data.get("customer")
    if not subscription or not customer:
        return None
    with translate_stripe_errors("confirm your subscription"):
        if isinstance(customer, str):
            customer = stripe_client().v1.customers.retrieve(customer)
        if isinstance(subscription, str):
            subscription = stripe_client().v1.subscriptions.retrieve(
                subscription, params={"expand": SUBSCRIPTION_EXPAND}
            )
    linked = _holder_subscription_link_retrying(
        holder=owner, customer_data=customer, subscription_data=subscription
    )
    if holder is not None:
        holder.customer = linked.customer
        holder.subscription = linked.subscription
    return linked


def _subscription_preferred(current: Subscription | None, candidate: Subscription) -> bool:
    """Whether `candidate` should replace `current` as the holder's subscription: a live one
    beats an ended one; between two live ones the one already linked stays; between two ended
    ones the latest wins."""
    if current is None or current.id == candidate.id:
        return True
    current_live = current.status in LIVE_STATUSES
    candidate_live = candidate.status in LIVE_STATUSES
    if current_live != candidate_live:
        return candidate_live
    return not current_live and candidate.created >= current.created


# PostgreSQL's code for "deadlock detected".
_DEADLOCK = "40P01"


def _holder_subscription_link_retrying(**kwargs: Any) -> SubscriptionHolder:
    """`_holder_subscription_link`, tried again when PostgreSQL ends it to break a deadlock.

    The webhook's dj-stripe sync writes the session's customer and subscription before its
    handler locks the holder, so it can wait on the confirm page (which holds the lock) while
    the confirm page waits on the same rows. PostgreSQL ends one of them; the work is
    idempotent, so the confirm page tries again instead of showing an error. Inside an outer
    transaction (the webhook's), the error goes up: that event is retried as a whole.
    """
    return _deadlock_retried(lambda: _holder_subscription_link(**kwargs), "Linking a subscription")


def _deadlock_retried(work: Callable[[], _T], what: str) -> _T:
    """`work()`, run again (up to three times) when PostgreSQL ends it to break a deadlock;
    inside an outer transaction the error goes up, for the outer work to be retried whole."""
    attempts = 1 if transaction.get_connection().in_atomic_block else 3
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except OperationalError as error:
            deadlock = getattr(error.__cause__, "sqlstate", None) == _DEADLOCK
            if not deadlock or attempt == attempts:
                raise
            logger.info("%s hit a deadlock; trying again (%d)", what, attempt)
    raise AssertionError("unreachable")


@transaction.atomic
def _holder_subscription_link(
    *,
    holder: SubscriptionHolder,
    customer_data: dict[str, Any],
    subscription_data: dict[str, Any],
) -> SubscriptionHolder:
    # Everything dj-stripe writes for this holder happens under the holder's lock, so the
    # confirm page and the webhook never write the same rows at once.
    locked = _holder_locked(holder)
    with translate_stripe_errors("save your subscription"):
        customer = Customer.sync_from_stripe_data(customer_data)
        subscription = Subscription.sync_from_stripe_data(subscription_data)
        subscription_discounts_sync(subscription=subscription_data)
    current = locked.subscription
    if (
        current is not None
        and current.id != subscription.id
        and current.customer_id == subscription.customer_id
        and current.status in LIVE_STATUSES
        and subscription.status in LIVE_STATUSES
    ):
        # Two checkouts finished for one holder (two tabs, say). Keep the first; end the
        # second at once so the holder is never billed twice, and tell the admins to refund.
        # The confirm page and the webhook may both get here with data read before the lock:
        # re-read it under the lock, so only one of them cancels (Stripe refuses a second).
        with translate_stripe_errors("cancel a duplicate subscription"):
            fresh = stripe_client().v1.subscriptions.retrieve(subscription.id)
            if fresh.status in LIVE_STATUSES:
                logger.error(
                    "Holder %s paid a second subscription %s while %s is live; canceling %s, "
                    "refund it",
                    holder_reference(holder=locked),
                    subscription.id,
                    current.id,
                    subscription.id,
                )
                fresh = stripe_client().v1.subscriptions.cancel(subscription.id)
            Subscription.sync_from_stripe_data(fresh)
    elif _subscription_preferred(current, subscription):
        locked.subscription = subscription
    locked.customer = customer
    locked.save(update_fields=["customer", "subscription"])
    _billing_details_sync(customer_data=customer_data, subscription=locked.subscription)
    return locked


def _billing_details_sync(
    *, customer_data: dict[str, Any], subscription: Subscription | None
) -> None:
    """Bring in what the status page shows besides the subscription: card and invoices."""
    payment_method_id = (subscription.default_payment_method if subscription else None) or (
        (customer_data.get("invoice_settings") or {}).get("default_payment_method")
    )
    if isinstance(payment_method_id, dict):
        payment_method_id = payment_method_id.get("id")
    client = stripe_client()
    with translate_stripe_errors("load your billing details"):
        if payment_method_id:
            payment_method = client.v1.payment_methods.retrieve(payment_method_id)
            PaymentMethod.sync_from_stripe_data(payment_method)
        invoices = client.v1.invoices.list(
            params={
                "customer": customer_data["id"],
                "limit": LATEST_INVOICES,
                "expand": INVOICE_LIST_EXPAND,
            }
        )
        for invoice in invoices.data:
            Invoice.sync_from_stripe_data(invoice)


# --- Keeping the holder's link current ---------------------------------------------------------


def _holder_subscription_choose(locked: SubscriptionHolder, *, customer_id: str) -> None:
    chosen = locked.subscription
    for candidate in Subscription.objects.filter(customer__id=customer_id).order_by("created"):
        if _subscription_preferred(chosen, candidate):
            chosen = candidate
    if chosen is not None and chosen.pk != locked.subscription_id:
        locked.subscription = chosen
        locked.save(update_fields=["subscription"])


def holder_subscription_refresh(*, customer_id: str) -> None:
    """Point the holder of this customer at its current subscription, from dj-stripe's rows.

    Call it after a webhook synced one of the customer's subscriptions. The current one is the
    live one (active, trialing or past due), else the latest; a holder already pointing at a
    live subscription keeps it. No Stripe calls.
    """
    holder = holder_for_customer(customer_id=customer_id)
    if holder is None:
        return
    with transaction.atomic():
        _holder_subscription_choose(_holder_locked(holder), customer_id=customer_id)


def holder_subscription_sync(*, holder: SubscriptionHolder) -> None:
    """Re-read the holder's customer, subscriptions, card and invoices from Stripe.

    Used when the holder comes back from the Customer Portal, where the plan, the card or the
    cancellation may have changed, so the status page is right even before the webhooks land.
    """
    if holder.customer is None:
        return
    customer_id = holder.customer.id
    client = stripe_client()
    with translate_stripe_errors("refresh your subscription"):
        customer = client.v1.customers.retrieve(customer_id)
        listed = client.v1.subscriptions.list(
            params={
                "customer": customer_id,
                "status": "all",
                "limit": 10,
                "expand": [f"data.{field}" for field in SUBSCRIPTION_EXPAND],
            }
        )

    def link() -> SubscriptionHolder:
        with transaction.atomic():
            locked = _holder_locked(holder)
            with translate_stripe_errors("refresh your subscription"):
                Customer.sync_from_stripe_data(customer)
                for subscription in listed.data:
                    Subscription.sync_from_stripe_data(subscription)
                    subscription_discounts_sync(subscription=subscription)
            _holder_subscription_choose(locked, customer_id=customer_id)
            return locked

    locked = _deadlock_retried(link, "Refreshing a subscription")
    # The card and invoices need no lock on the holder: syncing them after it keeps the locked
    # transaction short, so webhooks syncing the same rows meanwhile do not deadlock with it.
    _billing_details_sync(customer_data=customer, subscription=locked.subscription)
    holder.subscription = locked.subscription
