from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from djstripe.models import Product

from accounts.webhooks import webhook_handler, webhook_handler_unregister
from accounts.webhooks.models import WebhookEvent
from portal.stripe_client import stripe_client
from tests.accounts.webhooks.webhook_helpers import (
    events_since,
    fresh_second,
    server_now,
    unique,
)

pytestmark = pytest.mark.django_db

Status = WebhookEvent.Status


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_replay_by_id_fetches_an_event_never_received_and_processes_it(stripe_settings, make_event):
    event = make_event(
        lambda client: client.v1.products.create(params={"name": unique("Replayed")}),
        "product.created",
    )

    output = run("replay_webhook_events", "--ids", event["id"])

    assert "Replaying 1 events" in output
    assert "1 processed, 0 failed" in output
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    assert (stored.status, stored.source) == (Status.PROCESSED, WebhookEvent.Source.REPLAY)
    assert Product.objects.filter(id=event["data"]["object"]["id"]).exists()


def test_replay_since_processes_processed_events_again(poster, stripe_settings):
    since = server_now(stripe_settings)
    product = stripe_client().v1.products.create(params={"name": unique("Again")})
    [event] = events_since(since, object_ids={product.id})
    poster.post(event)
    Product.objects.filter(id=product.id).update(name="tampered locally")

    # Until now by the server's clock: other tests' clocks may have dated events later.
    until = str(server_now(stripe_settings))
    output = run("replay_webhook_events", "--since", str(since), "--until", until)

    assert Product.objects.get(id=product.id).name == product.name
    assert WebhookEvent.objects.get(stripe_id=event["id"]).attempts == 2
    assert "processed" in output


def test_replay_needs_something_to_replay_and_real_event_ids():
    with pytest.raises(CommandError, match="--ids"):
        run("replay_webhook_events")
    with pytest.raises(CommandError, match="not a Stripe event id"):
        run("replay_webhook_events", "--ids", "ch_123")
    with pytest.raises(CommandError, match="is not a time"):
        run("replay_webhook_events", "--since", "last tuesday")


def test_replay_of_an_unknown_event_says_stripe_refused(stripe_settings):
    with pytest.raises(CommandError, match="Stripe refused"):
        run("replay_webhook_events", "--ids", "evt_doesnotexist")


def test_replay_due_retries_failed_events_whose_time_has_come(poster, make_event, settings):
    settings.PORTAL_WEBHOOK_RETRY_BACKOFF = 0

    @webhook_handler("product.created")
    def explode(event: WebhookEvent) -> None:
        raise RuntimeError("temporarily broken")

    try:
        event = make_event(
            lambda client: client.v1.products.create(params={"name": unique("Due")}),
            "product.created",
        )
        poster.post(event)
        assert WebhookEvent.objects.get(stripe_id=event["id"]).status == Status.FAILED
    finally:
        webhook_handler_unregister(explode)

    output = run("replay_webhook_events", "--due")

    assert f"{event['id']}: processed" in output
    assert WebhookEvent.objects.get(stripe_id=event["id"]).status == Status.PROCESSED


def test_check_pending_webhooks_under_the_threshold_succeeds_and_reports(poster, stripe_settings):
    since = fresh_second(stripe_settings)
    product = stripe_client().v1.products.create(params={"name": unique("Pending")})

    # Until now by the server's clock: other tests' clocks may have dated events later.
    until = str(server_now(stripe_settings))
    output = run("check_pending_webhooks", "--since", str(since), "--until", until)

    # At least this product's event: the shared server may renew other tests' subscriptions
    # meanwhile, and their events are pending too.
    counts = re.search(r"(\d+) pending, (\d+) processed, (\d+) failed", output)
    assert counts is not None, output
    pending, processed, failed = map(int, counts.groups())
    assert pending >= 1
    assert (processed, failed) == (pending, 0)
    assert Product.objects.filter(id=product.id).exists()


def test_check_pending_webhooks_says_what_to_do_when_stripe_is_unreachable(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    with pytest.raises(CommandError, match="Check STRIPE_API_BASE"):
        run("check_pending_webhooks")


def test_webhook_endpoint_ensure_creates_once_and_replaces_on_demand(stripe_settings):
    url = f"http://127.0.0.1:8000/stripe/webhook/?{unique('t').split()[1]}"

    created = run("webhook_endpoint_ensure", "--url", url)
    again = run("webhook_endpoint_ensure", "--url", url)
    secret = run("webhook_endpoint_ensure", "--url", url, "--replace", "--secret-only").strip()

    assert "DJSTRIPE_WEBHOOK_SECRET=whsec_" in created
    assert "already sends to" in again
    assert secret.startswith("whsec_")
    endpoints = [
        endpoint
        for endpoint in stripe_client().v1.webhook_endpoints.list(params={"limit": 100}).data
        if endpoint.url == url
    ]
    assert len(endpoints) == 1
    with pytest.raises(CommandError, match="--replace"):
        run("webhook_endpoint_ensure", "--url", url, "--secret-only")


def test_the_admin_lists_events_and_its_retry_action_processes_them(
    admin_client, poster, make_event, django_capture_on_commit_callbacks
):
    event = make_event(
        lambda client: client.v1.products.create(params={"name": unique("Admin")}),
        "product.created",
    )
    poster.post(event)
    stored = WebhookEvent.objects.get(stripe_id=event["id"])
    WebhookEvent.objects.filter(pk=stored.pk).update(status=Status.FAILED, last_error="boom")
    Product.objects.filter(id=event["data"]["object"]["id"]).delete()

    listing = admin_client.get(reverse("admin:accounts_webhookevent_changelist"))
    detail = admin_client.get(reverse("admin:accounts_webhookevent_change", args=[stored.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:accounts_webhookevent_changelist"),
            {"action": "retry_events", "_selected_action": [stored.pk]},
            follow=True,
        )

    assert event["id"] in listing.content.decode()
    assert "boom" in detail.content.decode()
    assert "1 events queued for processing" in response.content.decode()
    stored.refresh_from_db()
    assert stored.status == Status.PROCESSED
    assert Product.objects.filter(id=event["data"]["object"]["id"]).exists()
