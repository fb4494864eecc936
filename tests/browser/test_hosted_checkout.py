"""Paying on the local Stripe server's hosted Checkout page in a real browser."""

from __future__ import annotations

import re
import uuid

import stripe
from playwright.sync_api import Page, expect


def _checkout(sdk: stripe.StripeClient, site: str) -> stripe.checkout.Session:
    product = sdk.v1.products.create({"name": "Business"})
    price = sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 2900,
            "recurring": {"interval": "month"},
        }
    )
    return sdk.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 2}],
            "success_url": f"{site}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{site}/pricing",
        }
    )


def test_paying_with_a_test_card_redirects_to_the_success_url(
    hosted_page: Page, sdk: stripe.StripeClient, site: str
) -> None:
    session = _checkout(sdk, site)
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    hosted_page.goto(session.url)
    expect(hosted_page.get_by_text("Local test Stripe — no real payments")).to_be_visible()
    expect(hosted_page.locator("#total-due")).to_have_text("$58.00")

    hosted_page.get_by_label("Email").fill(email)
    hosted_page.get_by_label("Card number").fill("4000 0000 0000 0002")
    hosted_page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    hosted_page.get_by_label("CVC").fill("123")
    hosted_page.get_by_role("button", name="Pay $58.00").click()
    expect(hosted_page.get_by_role("alert")).to_have_text("Your card was declined.")
    assert sdk.v1.customers.list({"email": email}).data == []

    hosted_page.get_by_label("Card number").fill("4242 4242 4242 4242")
    hosted_page.get_by_label("Name on card").fill("Grace Hopper")
    # Submitting from the keyboard works as well as clicking.
    hosted_page.get_by_label("Name on card").press("Enter")

    expect(hosted_page).to_have_url(
        re.compile(re.escape(f"{site}/billing/success?session_id={session.id}") + "$")
    )
    expect(hosted_page.get_by_role("heading", name="Back on the site")).to_be_visible()
    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert done.status == "complete"
    assert done.subscription.status == "active"
    assert done.subscription["items"].data[0].quantity == 2


def test_back_returns_to_the_cancel_url_without_paying(
    hosted_page: Page, sdk: stripe.StripeClient, site: str
) -> None:
    session = _checkout(sdk, site)
    hosted_page.goto(session.url)

    hosted_page.get_by_role("link", name="Back").click()

    expect(hosted_page).to_have_url(f"{site}/pricing")
    assert sdk.v1.checkout.sessions.retrieve(session.id).status == "open"
