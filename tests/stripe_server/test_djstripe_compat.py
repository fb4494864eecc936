"""dj-stripe 2.11, unmodified, syncs from and processes webhooks of the local server."""

from __future__ import annotations

import json
import time

import pytest
import stripe
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from djstripe import models as djstripe_models

from stripe_server.testing import LocalStripe
from stripe_server.webhooks import signature_header

pytestmark = pytest.mark.django_db


def _client(local_stripe: LocalStripe) -> stripe.StripeClient:
    return stripe.StripeClient(local_stripe.api_key, base_addresses={"api": local_stripe.api_base})


@pytest.fixture
def billing_objects(stripe_settings: LocalStripe) -> dict[str, str]:
    sdk = _client(stripe_settings)
    product = sdk.v1.products.create({"name": "dj-stripe plan"})
    price = sdk.v1.prices.create(
        {"product": product.id, "currency": "usd", "billing_scheme": "tiered",
         "tiers_mode": "volume", "recurring": {"interval": "month"},
         "tiers": [{"up_to": 10, "unit_amount": 900}, {"up_to": "inf", "unit_amount": 700}]}
    )  # fmt: skip
    customer = sdk.v1.customers.create(
        {"email": "dj@example.com", "payment_method": "pm_card_visa",
         "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )  # fmt: skip
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id, "quantity": 3}]}
    )
    return {
        "product": product.id,
        "price": price.id,
        "customer": customer.id,
        "subscription": subscription.id,
        "invoice": subscription.latest_invoice,
        "payment_method": customer.invoice_settings.default_payment_method,
    }


def test_djstripe_sync_models_stores_every_synced_model(billing_objects: dict[str, str]) -> None:
    call_command(
        "djstripe_sync_models",
        "Product",
        "Price",
        "Customer",
        "Subscription",
        "Invoice",
        "PaymentMethod",
    )
    assert djstripe_models.Product.objects.filter(id=billing_objects["product"]).exists()
    price = djstripe_models.Price.objects.get(id=billing_objects["price"])
    assert price.product.id == billing_objects["product"]
    assert djstripe_models.Customer.objects.filter(id=billing_objects["customer"]).exists()
    subscription = djstripe_models.Subscription.objects.get(id=billing_objects["subscription"])
    assert subscription.customer.id == billing_objects["customer"]
    item = subscription.items.get()
    assert item.price.id == billing_objects["price"]
    assert item.quantity == 3
    invoice = djstripe_models.Invoice.objects.get(id=billing_objects["invoice"])
    # Since API 2025-03-31 an invoice names its subscription under `parent`; dj-stripe 2.11
    # links only a top-level `subscription`, so its foreign key stays empty (Portal reads the
    # parent instead).
    details = invoice.stripe_data["parent"]["subscription_details"]
    assert details["subscription"] == billing_objects["subscription"]
    assert invoice.subscription is None
    assert invoice.total == 2700
    lines = djstripe_models.LineItem.objects.filter(
        subscription__id=billing_objects["subscription"]
    )
    assert lines.count() == 1
    assert djstripe_models.PaymentMethod.objects.filter(
        id=billing_objects["payment_method"]
    ).exists()


class DjstripeEndpoint:
    """A dj-stripe webhook endpoint for one of the server's endpoints (made, synced, then
    deleted in the server so that nothing is delivered twice): events are posted to it signed,
    as the server would, and each must be valid and processed."""

    def __init__(self, url: str, secret: str) -> None:
        self.url, self.secret, self.browser = url, secret, Client()

    @classmethod
    def made(cls, api: stripe.StripeClient, server: LocalStripe) -> DjstripeEndpoint:
        created = api.v1.webhook_endpoints.create(
            {"url": "http://127.0.0.1:9/unused", "enabled_events": ["*"]}
        )
        endpoint = djstripe_models.WebhookEndpoint.sync_from_stripe_data(
            stripe.WebhookEndpoint.construct_from(created.to_dict(), server.api_key)
        )
        api.v1.webhook_endpoints.delete(created.id)
        uuid = endpoint.djstripe_uuid
        url = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": uuid})
        return cls(url, created.secret)

    def deliver(self, event: stripe.Event) -> None:
        payload = json.dumps(event.to_dict(), default=str).encode()
        signature = signature_header(payload, self.secret, int(time.time()))
        response = self.browser.post(
            self.url, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        assert response.status_code == 200, (event.type, response.content)
        trigger = djstripe_models.WebhookEventTrigger.objects.latest("created")
        assert trigger.valid and trigger.processed, (event.type, trigger.exception)


def test_djstripe_processes_the_servers_signed_webhook_events(
    stripe_settings: LocalStripe, billing_objects: dict[str, str]
) -> None:
    api = _client(stripe_settings)
    endpoint = DjstripeEndpoint.made(api, stripe_settings)
    schedule = api.v1.subscription_schedules.create(
        {"from_subscription": billing_objects["subscription"]}
    )
    api.v1.subscription_schedules.release(schedule.id)
    wanted = [
        "product.created",
        "price.created",
        "customer.created",
        "customer.subscription.created",
        "invoice.paid",
        "payment_method.attached",
        "subscription_schedule.created",
        "subscription_schedule.released",
    ]
    # Every page: other tests' test clocks may have dated theirs later than these.
    events = list(api.v1.events.list({"types": wanted, "limit": 100}).auto_paging_iter())
    for event_type in wanted:
        event = next(e for e in events if e.type == event_type)
        endpoint.deliver(event)
    subscription = djstripe_models.Subscription.objects.get(id=billing_objects["subscription"])
    assert subscription.status == "active"
    assert djstripe_models.SubscriptionSchedule.objects.get(id=schedule.id).status == "released"


def test_djstripe_syncs_the_servers_subscription_schedules(
    stripe_settings: LocalStripe, billing_objects: dict[str, str]
) -> None:
    api = _client(stripe_settings)
    created = api.v1.subscription_schedules.create(
        {"from_subscription": billing_objects["subscription"]}
    )
    current = created.phases[0]
    api.v1.subscription_schedules.update(
        created.id,
        {
            "phases": [
                {"items": [{"price": billing_objects["price"], "quantity": 3}],
                 "start_date": current.start_date, "end_date": current.end_date},
                {"items": [{"price": billing_objects["price"], "quantity": 1}]},
            ]
        },
    )  # fmt: skip

    # As dj-stripe's webhook handler does: the object as the event carries it, synced.
    event = next(
        e
        for e in api.v1.events.list({"type": "subscription_schedule.updated", "limit": 100})
        if e.data.object["id"] == created.id
    )
    synced = djstripe_models.SubscriptionSchedule.sync_from_stripe_data(
        stripe.SubscriptionSchedule.construct_from(
            event.data.object.to_dict(), stripe_settings.api_key
        )
    )
    assert synced.status == "active"
    assert synced.customer.id == billing_objects["customer"]
    assert synced.subscription.id == billing_objects["subscription"]
    assert [phase["items"][0]["quantity"] for phase in synced.phases] == [3, 1]
    assert synced.end_behavior == "release"

    released = djstripe_models.SubscriptionSchedule.objects.get(id=created.id).release()
    assert released.status == "released"
    assert released.released_subscription.id == billing_objects["subscription"]
    assert released.subscription is None


def test_djstripe_syncs_coupons_promotion_codes_and_discounted_subscriptions_and_invoices(
    stripe_settings: LocalStripe, billing_objects: dict[str, str]
) -> None:
    api = _client(stripe_settings)
    coupon = api.v1.coupons.create(
        {"percent_off": 20, "duration": "repeating", "duration_in_months": 3,
         "applies_to": {"products": [billing_objects["product"]]}, "name": "Twenty"}
    )  # fmt: skip
    promotion_code = api.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": f"DJ{coupon.id}"}
    )
    subscription = api.v1.subscriptions.create(
        {"customer": billing_objects["customer"],
         "items": [{"price": billing_objects["price"], "quantity": 2}],
         "discounts": [{"promotion_code": promotion_code.id}]}
    )  # fmt: skip

    call_command("djstripe_sync_models", "Coupon", "PromotionCode", "Subscription", "Invoice")

    synced_coupon = djstripe_models.Coupon.objects.get(id=coupon.id)
    assert synced_coupon.percent_off == 20
    assert synced_coupon.applies_to == {"products": [billing_objects["product"]]}
    assert synced_coupon.human_readable == "20% off for 3 months"
    synced_code = djstripe_models.PromotionCode.objects.get(id=promotion_code.id)
    assert (synced_code.code, synced_code.active, synced_code.times_redeemed) == (
        promotion_code.code,
        True,
        1,
    )
    [discount_id] = subscription.discounts
    synced_subscription = djstripe_models.Subscription.objects.get(id=subscription.id)
    assert synced_subscription.stripe_data["discounts"] == [discount_id]
    invoice = djstripe_models.Invoice.objects.get(id=subscription.latest_invoice)
    # 2 seats at $9.00 (volume tiers): $18.00, 20% off.
    assert (invoice.stripe_data["subtotal"], invoice.total) == (1800, 1800 - 360)
    discount = djstripe_models.Discount.objects.get(id=discount_id)
    assert discount.subscription.id == subscription.id
    assert discount.customer.id == billing_objects["customer"]
    assert discount.promotion_code == promotion_code.id


def test_djstripe_processes_coupon_promotion_code_and_discount_events(
    stripe_settings: LocalStripe, billing_objects: dict[str, str]
) -> None:
    api = _client(stripe_settings)
    endpoint = DjstripeEndpoint.made(api, stripe_settings)
    coupon = api.v1.coupons.create({"percent_off": 10, "duration": "forever"})
    promotion_code = api.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}}
    )
    api.v1.promotion_codes.update(promotion_code.id, {"metadata": {"k": "v"}})
    api.v1.coupons.update(coupon.id, {"name": "Ten"})
    api.v1.subscriptions.update(
        billing_objects["subscription"], {"discounts": [{"coupon": coupon.id}]}
    )
    api.v1.subscriptions.update(billing_objects["subscription"], {"discounts": ""})
    gone = api.v1.coupons.create({"percent_off": 5})
    api.v1.coupons.delete(gone.id)
    wanted = {
        "coupon.created": coupon.id,
        "coupon.updated": coupon.id,
        "coupon.deleted": gone.id,
        "promotion_code.created": promotion_code.id,
        "promotion_code.updated": promotion_code.id,
        "customer.discount.created": None,
        "customer.discount.deleted": None,
        "customer.subscription.updated": billing_objects["subscription"],
    }
    # Every page: other tests' test clocks may have dated theirs later than these.
    events = list(api.v1.events.list({"types": list(wanted), "limit": 100}).auto_paging_iter())
    for event_type, object_id in wanted.items():
        event = next(
            e for e in events if e.type == event_type and object_id in (None, e.data.object["id"])
        )
        endpoint.deliver(event)
    assert djstripe_models.Coupon.objects.get(id=coupon.id).name == "Ten"
    assert not djstripe_models.Coupon.objects.filter(id=gone.id).exists()
    assert djstripe_models.PromotionCode.objects.get(id=promotion_code.id).stripe_data[
        "metadata"
    ] == {"k": "v"}
