"""Reading Stripe objects again into dj-stripe's rows: the admin's "Sync from Stripe" action.

Each object is fetched the way the rest of Portal fetches it (a subscription with its
discounts, an invoice with what dj-stripe needs expanded, a tiered price with its tiers, a
coupon with the products it applies to), then stored; a subscription's holder is pointed at
its current subscription again. An object Stripe refuses (deleted there, say) is reported,
and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from djstripe.models import (
    Coupon,
    Customer,
    Discount,
    Invoice,
    PaymentMethod,
    Price,
    Product,
    PromotionCode,
    Subscription,
    SubscriptionSchedule,
)
from djstripe.models.base import StripeModel

from accounts.billing.checkout import holder_subscription_refresh
from accounts.billing.discounts import (
    INVOICE_EXPAND,
    SUBSCRIPTION_EXPAND,
    subscription_discounts_sync,
)
from portal.stripe_client import (
    StripeRequestError,
    StripeUnavailableError,
    stripe_api_key,
    stripe_client,
    stripe_json,
    translate_stripe_errors,
)
from pricing.services import coupon_sync, promotion_code_sync


@dataclass
class ObjectSyncReport:
    """What a sync did: the ids stored, and the ids that failed with Stripe's reason."""

    synced: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _subscription_sync(subscription_id: str) -> None:
    with translate_stripe_errors(f"read the subscription {subscription_id}"):
        data = stripe_client().v1.subscriptions.retrieve(
            subscription_id, params={"expand": SUBSCRIPTION_EXPAND}
        )
        stored = Subscription.sync_from_stripe_data(data, api_key=stripe_api_key())
        subscription_discounts_sync(subscription=data)
    holder_subscription_refresh(customer_id=stored.customer_id)


def _retrieve_and_store(
    model: type[StripeModel], resource: str, params: dict[str, Any] | None = None
) -> Callable[[str], None]:
    def sync(object_id: str) -> None:
        with translate_stripe_errors(f"read {object_id}"):
            endpoint = getattr(stripe_client().v1, resource)
            data = endpoint.retrieve(object_id, params=params or {})
            model.sync_from_stripe_data(stripe_json(data), api_key=stripe_api_key())

    return sync


def _discount_sync(discount: StripeModel) -> None:
    """Stripe cannot be asked for a discount alone: its subscription is read again, with it."""
    subscription_id = discount.stripe_data.get("subscription")
    if isinstance(subscription_id, dict):
        subscription_id = subscription_id.get("id")
    if not subscription_id:
        raise StripeRequestError("Only a subscription's discounts can be read again.")
    _subscription_sync(subscription_id)


_SYNCS: dict[type[StripeModel], Callable[[str], None]] = {
    Subscription: _subscription_sync,
    Customer: _retrieve_and_store(Customer, "customers"),
    Invoice: _retrieve_and_store(Invoice, "invoices", {"expand": INVOICE_EXPAND}),
    Price: _retrieve_and_store(Price, "prices", {"expand": ["tiers"]}),
    Product: _retrieve_and_store(Product, "products"),
    PaymentMethod: _retrieve_and_store(PaymentMethod, "payment_methods"),
    SubscriptionSchedule: _retrieve_and_store(SubscriptionSchedule, "subscription_schedules"),
    Coupon: lambda object_id: coupon_sync(coupon_id=object_id),
    PromotionCode: lambda object_id: promotion_code_sync(promotion_code_id=object_id),
}


def stripe_object_syncable(*, model: type[StripeModel]) -> bool:
    """Whether `stripe_objects_sync` can read this model's objects again."""
    return model in _SYNCS or model is Discount


def stripe_objects_sync(*, objects: Iterable[StripeModel]) -> ObjectSyncReport:
    """Fetch each object from Stripe and store it again, one by one; Stripe's refusals (and
    Stripe being unreachable) are reported per object."""
    report = ObjectSyncReport()
    for obj in objects:
        try:
            if isinstance(obj, Discount):
                _discount_sync(obj)
            else:
                sync = _SYNCS.get(type(obj))
                if sync is None:
                    raise StripeRequestError(f"{type(obj).__name__} objects cannot be synced.")
                sync(obj.id)
        except (StripeRequestError, StripeUnavailableError) as error:
            report.failed.append((obj.id, str(error)))
        else:
            report.synced.append(obj.id)
    return report
