"""A promotion link in a real browser: /pricing/?promo=LAUNCH20 priced with the code, the team
size changed with htmx, sign-up verified from the mail, the discounted amount paid in hosted
Checkout, and the discount on the status page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from portal.stripe_client import stripe_client
from pricing.services import coupon_sync, promotion_code_sync
from tests.accounts.billing_helpers import site_domain_set
from tests.accounts.gating_support import demo_plans_ensure, demo_price
from tests.browser.test_auth_flow import sign_up, verify

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_launch20_link_signs_up_pays_the_discounted_amount_and_shows_the_discount(
    page: Page, live_server, stripe_settings
):
    site_domain_set(urlsplit(live_server.url).netloc)
    demo_plans_ensure(stripe_settings.api_base)
    for interval in ("month", "year"):
        for slug in ("basic", "starter", "pro", "team-seats", "seat-packs"):
            demo_price(slug, interval)
    [code] = (
        stripe_client().v1.promotion_codes.list(params={"code": "LAUNCH20", "active": True}).data
    )
    coupon_sync(coupon_id=code.promotion.coupon)
    promotion_code_sync(promotion_code_id=code.id)

    page.goto("/pricing/?promo=LAUNCH20")
    expect(page.locator("[data-promo-applied]")).to_contain_text("20% off for 3 months")
    expect(page.locator('[data-plan="basic"] [data-discount-note]')).to_have_text(
        "This code does not apply to Basic"
    )
    # Three seats, typed in: htmx re-prices the cards and keeps the code.
    page.get_by_label("Team size").fill("3")
    team = page.locator('[data-plan="team"]')
    # 3 seats at $10 = $30, less 20%.
    expect(team.locator("[data-discounted-price]")).to_have_text("$24")
    expect(team.locator("[data-regular-price]")).to_contain_text("$30")
    expect(team.locator("[data-discount]")).to_have_text("20% off for 3 months with LAUNCH20")
    expect(page).to_have_url(re.compile(r"seats=3.*promo=LAUNCH20|promo=LAUNCH20.*seats=3"))
    team.get_by_role("button", name="Subscribe to Team").click()

    expect(page.locator("[data-chosen-plan-text]")).to_contain_text(
        "Team — $30 per month for 3 seats, 20% off for 3 months with LAUNCH20."
    )
    sign_up(page, "launch@example.com")
    verify(page, "launch@example.com")

    expect(page.get_by_label("Account menu")).to_have_text("launch@example.com")
    expect(page.locator("[data-promotion]")).to_have_text(
        "20% off for 3 months with LAUNCH20, applied at checkout: you pay $24 today."
    )
    page.get_by_role("button", name="Continue to payment").click()

    expect(page).to_have_url(re.compile(r"/_hosted/checkout/cs_"))
    expect(page.get_by_text("LAUNCH20")).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay $24.00").click()

    expect(page).to_have_url(f"{live_server.url}/subscription/")
    expect(page.locator("[data-discount]")).to_contain_text("20% off until")
    expect(page.locator("[data-discount-code]")).to_have_text("(LAUNCH20)")
    expect(page.locator("[data-amount]")).to_contain_text("$24 per month")
    expect(page.locator("[data-regular-amount]")).to_contain_text("$30")
    buyer = User.objects.get(email="launch@example.com")
    subscription = stripe_client().v1.subscriptions.retrieve(buyer.subscription.id)
    invoice = stripe_client().v1.invoices.retrieve(subscription.latest_invoice)
    assert (invoice.subtotal, invoice.amount_paid) == (3000, 3000 - 600)
