from __future__ import annotations

import pytest
from django.core import mail
from djstripe.models import Customer, Price, Product, Subscription

from accounts.webhooks import webhook_handler, webhook_handler_unregister
from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.services.processing import webhook_event_process
from portal.stripe_client import stripe_client
from tests.accounts.webhooks.webhook_helpers import events_since, server_now, unique

pytestmark = pytest.mark.django_db

Status = WebhookEvent.Status


def test_product_events_sync_the_product_and_the_pricing_data(poster, make_event):
    created = make_event(
        lambda client: client.v1.products.create(params={"name": unique("Starter")}),
        "product.created",
    )
    product_id = created["data"]["object"]["id"]

    assert poster.post(created).status_code == 200

    product = Product.objects.get(id=product_id)
    assert product.name == created["data"]["object"]["name"]
    assert WebhookEvent.objects.get(stripe_id=created["id"]).status == Status.PROCESSED


def test_an_old_update_delivered_last_leaves_the_current_state(poster, make_event):
    """Order safety: processing re-reads the object from Stripe, so a stale event applied last
    does not roll the local copy back."""
    first_name = unique("Before")
    created = make_event(
        lambda client: client.v1.products.create(params={"name": first_name}), "product.created"
    )
    product_id = created["data"]["object"]["id"]
    final_name = unique("After")
    renamed = make_event(
        lambda client: client.v1.products.update(product_id, params={"name": final_name}),
        "product.updated",
    )

    poster.post(renamed)
    poster.post(created)

    assert Product.objects.get(id=product_id).name == final_name


def test_a_deleted_product_is_removed_even_when_its_creation_arrives_after(poster, make_event):
    created = make_event(
        lambda client: client.v1.products.create(params={"name": unique("Gone")}),
        "product.created",
    )
    product_id = created["data"]["object"]["id"]
    poster.post(created)
    deleted = make_event(lambda client: client.v1.products.delete(product_id), "product.deleted")

    poster.post(deleted)
    poster.post(created)  # a late duplicate of the creation

    assert not Product.objects.filter(id=product_id).exists()
    assert WebhookEvent.objects.get(stripe_id=deleted["id"]).status == Status.PROCESSED


def test_price_events_keep_prices_current(poster, make_event, stripe_settings):
    product = stripe_client().v1.products.create(params={"name": unique("Priced")})
    created = make_event(
        lambda client: client.v1.prices.create(
            params={
                "product": product.id,
                "currency": "usd",
                "unit_amount": 900,
                "recurring": {"interval": "month"},
            }
        ),
        "price.created",
    )
    price_id = created["data"]["object"]["id"]
    archived = make_event(
        lambda client: client.v1.prices.update(price_id, params={"active": False}),
        "price.updated",
    )

    poster.post(archived)
    poster.post(created)

    price = Price.objects.get(id=price_id)
    assert price.active is False
    assert price.unit_amount == 900

    since = server_now(stripe_settings)
    stripe_settings.admin("DELETE", f"/_local/prices/{price_id}")
    [deleted] = [
        event
        for event in events_since(since, object_ids={price_id})
        if event["type"] == "price.deleted"
    ]
    poster.post(deleted)
    assert not Price.objects.filter(id=price_id).exists()


def test_customer_updated_brings_the_new_email(poster, make_event):
    customer = stripe_client().v1.customers.create(params={"email": "old@example.com"})
    updated = make_event(
        lambda client: client.v1.customers.update(customer.id, params={"email": "new@example.com"}),
        "customer.updated",
    )

    poster.post(updated)

    assert Customer.objects.get(id=customer.id).email == "new@example.com"


def subscribe(*, payment_method: str = "pm_card_visa", email: str = "payer@example.com"):
    client = stripe_client()
    product = client.v1.products.create(params={"name": unique("Plan")})
    price = client.v1.prices.create(
        params={
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1500,
            "recurring": {"interval": "month"},
        }
    )
    customer = client.v1.customers.create(params={"email": email, "name": "Grace Hopper"})
    client.v1.payment_methods.attach(payment_method, params={"customer": customer.id})
    subscription = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": payment_method,
        }
    )
    return customer, subscription


def test_a_canceled_subscription_ends_canceled_locally_and_the_admins_are_mailed(
    poster, stripe_settings, settings, django_capture_on_commit_callbacks
):
    settings.ADMINS = [("ops", "ops@example.com")]
    since = server_now(stripe_settings)
    _customer, subscription = subscribe()
    stripe_client().v1.subscriptions.cancel(subscription.id)
    events = [
        event
        for event in events_since(since, object_ids={subscription.id})
        if event["type"].startswith("customer.subscription.")
    ]
    assert [event["type"] for event in events][-1] == "customer.subscription.deleted"

    with django_capture_on_commit_callbacks(execute=True):
        for event in reversed(events):  # the deletion first, the creation last
            assert poster.post(event).status_code == 200

    assert Subscription.objects.get(id=subscription.id).status == "canceled"
    assert WebhookEvent.objects.filter(status=Status.PROCESSED).count() == len(events)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.com"]
    assert "Subscription canceled" in message.subject
    assert subscription.id in message.body
    assert "payer@example.com" in message.body


def test_a_failed_payment_mails_the_customer_a_link_to_fix_it(
    poster, stripe_settings, django_capture_on_commit_callbacks
):
    since = server_now(stripe_settings)
    customer, _subscription = subscribe(
        payment_method="pm_card_chargeCustomerFail", email="broke@example.com"
    )
    failed = [
        event
        for event in events_since(since)
        if event["type"] == "invoice.payment_failed"
        and event["data"]["object"].get("customer") == customer.id
    ]
    assert len(failed) == 1

    with django_capture_on_commit_callbacks(execute=True):
        poster.post(failed[0])
        poster.post(failed[0])  # Stripe may deliver it twice: one mail

    assert WebhookEvent.objects.get(stripe_id=failed[0]["id"]).status == Status.PROCESSED
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["broke@example.com"]
    assert "payment of $15.00 failed" in message.subject
    assert "/subscription/" in message.body


def test_a_registered_handler_runs_for_its_event_type(poster, make_event):
    seen: list[str] = []

    @webhook_handler("product.*")
    def remember(event: WebhookEvent) -> None:
        seen.append(event.stripe_id)

    try:
        created = make_event(
            lambda client: client.v1.products.create(params={"name": unique("Seen")}),
            "product.created",
        )
        customer_event = make_event(
            lambda client: client.v1.customers.create(params={"email": "x@example.com"}),
            "customer.created",
        )
        poster.post(created)
        poster.post(customer_event)
    finally:
        webhook_handler_unregister(remember)

    assert seen == [created["id"]]


def test_a_failing_handler_marks_the_event_failed_with_backoff_and_others_go_on(
    poster, make_event, settings
):
    settings.PORTAL_WEBHOOK_RETRY_BACKOFF = 30

    @webhook_handler("product.created")
    def explode(event: WebhookEvent) -> None:
        raise RuntimeError("the warehouse is on fire")

    try:
        bad = make_event(
            lambda client: client.v1.products.create(params={"name": unique("Bad")}),
            "product.created",
        )
        good = make_event(
            lambda client: client.v1.customers.create(params={"email": "fine@example.com"}),
            "customer.created",
        )
        assert poster.post(bad).status_code == 200
        assert poster.post(good).status_code == 200

        failed = WebhookEvent.objects.get(stripe_id=bad["id"])
        assert failed.status == Status.FAILED
        assert "RuntimeError: the warehouse is on fire" in failed.last_error
        assert failed.attempts == 1
        delay = (failed.next_attempt_at - failed.processing_started_at).total_seconds()
        assert 29 <= delay <= 31
        # The failed attempt's sync was rolled back with it.
        assert not Product.objects.filter(id=bad["data"]["object"]["id"]).exists()
        assert WebhookEvent.objects.get(stripe_id=good["id"]).status == Status.PROCESSED

        outcome = webhook_event_process(event_pk=failed.pk)
        failed.refresh_from_db()
        assert outcome.retry_in == 60  # doubled
        assert failed.attempts == 2
    finally:
        webhook_handler_unregister(explode)

    assert webhook_event_process(event_pk=failed.pk).status == Status.PROCESSED
    assert Product.objects.filter(id=bad["data"]["object"]["id"]).exists()


def test_an_event_that_failed_max_attempts_times_is_not_retried_again(poster, make_event, settings):
    settings.PORTAL_WEBHOOK_MAX_ATTEMPTS = 2

    @webhook_handler("customer.created")
    def explode(event: WebhookEvent) -> None:
        raise RuntimeError("still broken")

    try:
        event = make_event(
            lambda client: client.v1.customers.create(params={"email": "max@example.com"}),
            "customer.created",
        )
        poster.post(event)
        stored = WebhookEvent.objects.get(stripe_id=event["id"])
        last = webhook_event_process(event_pk=stored.pk)
    finally:
        webhook_handler_unregister(explode)

    stored.refresh_from_db()
    assert last.retry_in is None
    assert stored.status == Status.FAILED
    assert stored.next_attempt_at is None


def test_a_processed_event_is_not_processed_again_unless_forced(poster, make_event):
    calls: list[str] = []

    @webhook_handler("product.created")
    def count(event: WebhookEvent) -> None:
        calls.append(event.stripe_id)

    try:
        event = make_event(
            lambda client: client.v1.products.create(params={"name": unique("Once")}),
            "product.created",
        )
        poster.post(event)
        stored = WebhookEvent.objects.get(stripe_id=event["id"])

        assert webhook_event_process(event_pk=stored.pk).status == Status.PROCESSED
        assert len(calls) == 1
        webhook_event_process(event_pk=stored.pk, force=True)
        assert len(calls) == 2
    finally:
        webhook_handler_unregister(count)
