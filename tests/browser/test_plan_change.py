"""Upgrading in a browser: a Basic subscriber opens the Pro page, is sent to the change screen,
sees the exact amount, confirms, and the Pro page opens; Stripe charged what was shown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.billing.state import billing_state
from portal.stripe_client import stripe_client
from tests.accounts.gating_support import (
    demo_plans_ensure,
    demo_price,
    subscribe,
    user_create,
)
from tests.browser.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-passphrase"


def cents(text: str) -> int:
    """ "$12.34" in cents."""
    whole, _, fraction = text.strip().lstrip("$").replace(",", "").partition(".")
    return int(whole) * 100 + int(fraction or 0)


def test_basic_to_pro_from_the_gated_page_charges_exactly_the_preview(page: Page, stripe_settings):
    demo_plans_ensure(stripe_settings.api_base)
    demo_price("pro")
    user = user_create("upgrade")
    subscription = subscribe(user, "basic")
    log_in(page, user.email, PASSWORD)

    page.goto("/subscription/demo/pro/")

    expect(page).to_have_url(re.compile(r"/subscription/change/\?plan=pro"))
    expect(page.get_by_role("status").first).to_contain_text("This needs the Pro plan.")
    expect(page.locator("[data-current-plan]")).to_contain_text("Basic")
    expect(page.locator("[data-new-plan]")).to_contain_text("Pro")
    shown = page.locator("[data-amount-due]").inner_text()
    expect(page.locator("[data-change-line]").first).to_be_visible()

    page.get_by_role("button", name=re.compile(r"^Confirm and pay")).click()

    expect(page).to_have_url(re.compile(r"/subscription/demo/pro/$"))
    expect(page.locator("[data-pro-content]")).to_contain_text("Only holders of the Pro plan")
    assert billing_state(holder=user).slug == "pro"
    latest = stripe_client().v1.subscriptions.retrieve(subscription.id).latest_invoice
    invoice = stripe_client().v1.invoices.retrieve(latest)
    assert cents(shown) > 0 and invoice.amount_paid == cents(shown)
    assert invoice.status == "paid"
