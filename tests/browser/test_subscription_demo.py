"""The Subscription Demo tab in a browser: locked without a plan, open on Pro, and locked again
once Stripe's cancellation webhook arrives."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.services.endpoints import webhook_endpoint_ensure
from portal.stripe_client import stripe_client
from tests.accounts.gating_support import demo_plans_ensure, subscribe, user_create
from tests.browser.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-passphrase"


@pytest.fixture
def webhooks_to_live_server(stripe_settings, live_server, settings) -> str:
    """The local Stripe server delivers its events to this live server's webhook endpoint."""
    _, secret, _ = webhook_endpoint_ensure(url=f"{live_server.url}/stripe/webhook/", replace=True)
    settings.DJSTRIPE_WEBHOOK_SECRET = secret
    return secret


def test_pro_content_unlocks_with_a_subscription_and_locks_again_on_a_cancellation_webhook(
    page: Page, stripe_settings, webhooks_to_live_server
):
    demo_plans_ensure(stripe_settings.api_base)
    user = user_create("demo")
    log_in(page, user.email, PASSWORD)

    # No plan: the upgrade prompt, and the Pro page sends the visitor to the pricing page.
    page.get_by_role("link", name="Subscription Demo").click()
    expect(page.get_by_role("heading", name="Subscription Demo")).to_be_visible()
    expect(page.locator("[data-upgrade-prompt]")).to_contain_text("Upgrade to unlock")
    page.get_by_role("link", name="Pro report").click()
    expect(page).to_have_url(f"{page.url.split('/pricing/')[0]}/pricing/")
    expect(page.get_by_role("status")).to_contain_text("This needs the Pro plan.")

    # Subscribed to Pro: the content is there, and so is the Pro page.
    subscription = subscribe(user, "pro")
    page.goto("/subscription/demo/")
    expect(page.locator('[data-plan-content="pro"]')).to_contain_text("Pro workspace")
    expect(page.locator('[data-detail="plan"]')).to_have_text("Pro")
    expect(page.locator('[data-detail="card"]')).to_have_text("Visa ending in 4242")
    page.get_by_role("link", name="Pro report").click()
    expect(page.locator("[data-pro-content]")).to_contain_text("Only holders of the Pro plan")

    # Canceled in Stripe: only the webhook tells Portal, and the content locks again.
    stripe_client().v1.subscriptions.cancel(subscription.id)
    deadline = time.monotonic() + 20
    while not WebhookEvent.objects.filter(
        type="customer.subscription.deleted",
        status=WebhookEvent.Status.PROCESSED,
        payload__data__object__id=subscription.id,
    ).exists():
        assert time.monotonic() < deadline, "the cancellation webhook was not processed"
        time.sleep(0.2)
    page.goto("/subscription/demo/")
    expect(page.locator("[data-upgrade-prompt]")).to_be_visible()
    expect(page.locator('[data-detail="status"]')).to_have_text("Canceled")
    page.get_by_role("link", name="Pro report").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Your subscription has ended. This needs the Pro plan."
    )
