"""A free trial without a card, in a real browser: the pricing page's trial button, Checkout
asking for no card, and the countdown on the status page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import site_domain_set
from tests.accounts.gating_support import demo_plans_ensure, demo_price
from tests.browser.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_no_card_trial_starts_from_the_pricing_page_and_counts_down(
    page: Page, live_server, stripe_settings, password
):
    site_domain_set(urlsplit(live_server.url).netloc)
    demo_plans_ensure(stripe_settings.api_base)
    for interval in ("month", "year"):
        for slug in ("basic", "starter", "pro", "team-seats", "seat-packs"):
            demo_price(slug, interval)
    user = User.objects.create_user(email="trier@example.com", password=password)
    log_in(page, user.email, password)

    page.goto("/pricing/")
    starter = page.locator('[data-plan="starter"]')
    expect(starter.locator("[data-trial]")).to_have_text(
        "7 days free, then $25 per month. No card needed"
    )
    starter.get_by_role("button", name="Start your 7-day free trial").click()

    # Checkout asks for no card: nothing is due today.
    expect(page).to_have_url(re.compile(r"/_hosted/checkout/cs_"))
    expect(page.get_by_label("Card number")).to_have_count(0)
    page.get_by_role("button", name="Start trial").click()

    expect(page).to_have_url(f"{live_server.url}/subscription/")
    expect(page.locator("[data-status]")).to_have_text("Free trial")
    user.refresh_from_db()
    subscription = stripe_client().v1.subscriptions.retrieve(user.subscription.id)
    ends = datetime.fromtimestamp(subscription.trial_end, tz=UTC)
    days = (ends.date() - datetime.now(tz=UTC).date()).days
    expect(page.locator("[data-trial]")).to_have_text(
        f"{days} days left (ends {ends.day} {ends:%B}), then $25 per month"
    )
    expect(page.locator("[data-card]")).to_have_text("None on file")
    expect(page.get_by_role("button", name="Add a card to keep Starter")).to_be_visible()
    assert subscription.default_payment_method is None
