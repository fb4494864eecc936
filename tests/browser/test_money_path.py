"""The money path in a real browser: pricing, Checkout, the status page, the Customer Portal."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import plan_offer, plan_price_create, site_domain_set
from tests.browser.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def day(timestamp: int) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return f"{moment:%B} {moment.day}, {moment.year}"


def test_subscribe_pay_switch_to_annual_and_cancel(
    page: Page, live_server, stripe_settings, monkeypatch, password
):
    site_domain_set(urlsplit(live_server.url).netloc)
    monthly = plan_price_create(unit_amount=2000, interval="month")
    yearly = plan_price_create(unit_amount=20000, interval="year", product=monthly.product.id)
    plan_offer(monkeypatch, monthly)
    user = User.objects.create_user(email="payer@example.com", password=password)

    log_in(page, user.email, password)

    # Pricing: subscribe to the monthly plan.
    page.goto("/pricing/?interval=month")
    page.get_by_role("button", name=f"Subscribe to {monthly.product.name}").click()

    # Hosted Checkout on the local Stripe server: pay with the test Visa.
    expect(page).to_have_url(re.compile(r"/_hosted/checkout/cs_"))
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile(r"^Pay")).click()

    # Back on the status page, synced at once.
    expect(page).to_have_url(f"{live_server.url}/subscription/")
    expect(page.locator("[data-status]")).to_have_text("Active")
    expect(page.locator("[data-plan-name]")).to_have_text(monthly.product.name)
    expect(page.locator("[data-interval]")).to_have_text("Monthly")
    user.refresh_from_db()
    subscription = stripe_client().v1.subscriptions.retrieve(user.subscription.id)
    expect(page.locator("[data-renews-on]")).to_have_text(
        day(subscription["items"].data[0].current_period_end)
    )
    expect(page.locator("[data-card]")).to_have_text("Visa ending in 4242")

    # Manage billing: switch to the annual price in the portal, and come back.
    page.get_by_role("button", name="Manage billing").click()
    expect(page).to_have_url(re.compile(r"/_hosted/portal/"))
    page.get_by_role("link", name="Update plan").click()
    page.locator(f'input[name="price"][value="{yearly.id}"]').check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#change-summary")).to_contain_text("You'll be charged")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("link", name=re.compile("Return")).click()

    expect(page).to_have_url(re.compile(r"/subscription/"))
    expect(page.locator("[data-interval]")).to_have_text("Yearly")
    expect(page.locator("[data-amount]")).to_contain_text("$200 per year")

    # Manage billing again: cancel at the end of the period.
    page.get_by_role("button", name="Manage billing").click()
    page.get_by_role("link", name="Cancel plan").click()
    page.get_by_role("button", name=re.compile("Cancel")).first.click()
    page.get_by_role("link", name=re.compile("Return")).click()

    subscription = stripe_client().v1.subscriptions.retrieve(user.subscription.id)
    assert subscription.cancel_at_period_end
    expect(page.locator("[data-status]")).to_have_text(
        f"Cancels on {day(subscription['items'].data[0].current_period_end)}"
    )
    expect(page.locator("[data-cancels-on]")).to_have_text(
        day(subscription["items"].data[0].current_period_end)
    )
