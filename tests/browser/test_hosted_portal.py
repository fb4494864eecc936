"""Changing plan and cancelling in the local Stripe server's hosted Customer Portal."""

from __future__ import annotations

import re
import uuid

import stripe
from playwright.sync_api import Page, expect


def test_customer_chooses_annual_confirms_the_charge_then_cancels_and_returns(
    hosted_page: Page, sdk: stripe.StripeClient, site: str
) -> None:
    product = sdk.v1.products.create({"name": f"Studio {uuid.uuid4().hex[:4]}"})
    monthly = sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1200,
            "recurring": {"interval": "month"},
            "nickname": "Monthly",
        }
    )
    annual = sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 12000,
            "recurring": {"interval": "year"},
            "nickname": "Annual",
        }
    )
    customer = sdk.v1.customers.create(
        {
            "email": f"studio-{uuid.uuid4().hex[:8]}@example.com",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": monthly.id}]}
    )
    configuration = sdk.v1.billing_portal.configurations.create(
        {
            "features": {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price", "quantity"],
                    "products": [{"product": product.id, "prices": [monthly.id, annual.id]}],
                },
                "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
                "payment_method_update": {"enabled": True},
            }
        }
    )
    session = sdk.v1.billing_portal.sessions.create(
        {
            "customer": customer.id,
            "return_url": f"{site}/account",
            "configuration": configuration.id,
        }
    )

    hosted_page.goto(session.url)
    expect(hosted_page.get_by_text("Local test Stripe — no real payments")).to_be_visible()
    hosted_page.get_by_role("link", name="Update plan").click()

    # Each plan once, by product name and price; the current one marked and not choosable.
    expect(hosted_page.get_by_role("heading", name="Update plan")).to_be_visible()
    expect(
        hosted_page.get_by_role("radio", name=f"{product.name} $12 per month Current plan")
    ).to_be_disabled()
    expect(hosted_page.get_by_text("(Annual)")).to_have_count(0)
    annual_choice = hosted_page.get_by_role("radio", name=f"{product.name} $120 per year")
    annual_choice.check()
    hosted_page.get_by_role("button", name="Continue").click()

    # The confirmation: what changes and what it costs, before anything changes.
    expect(hosted_page.get_by_role("heading", name="Confirm your new plan")).to_be_visible()
    expect(hosted_page.locator("#new-plan")).to_have_text(f"{product.name} · $120 per year")
    summary = hosted_page.locator("#change-summary")
    expect(summary).to_have_text(re.compile(r"^You'll be charged \$\d+\.\d\d today\.$"))
    assert sdk.v1.subscriptions.retrieve(subscription.id)["items"].data[0].price.id == monthly.id

    # Back keeps the choice; Continue again, then Confirm.
    hosted_page.get_by_role("link", name="Back").click()
    expect(annual_choice).to_be_checked()
    hosted_page.get_by_role("button", name="Continue").click()
    shown = re.search(r"\$(\d+)\.(\d\d)", summary.inner_text())
    assert shown is not None
    confirm = hosted_page.get_by_role("button", name="Confirm")
    confirm.focus()
    confirm.press("Enter")

    expect(hosted_page.get_by_role("status")).to_have_text("Your plan has been updated.")
    expect(hosted_page.get_by_text("$120.00 per year")).to_be_visible()
    changed = sdk.v1.subscriptions.retrieve(subscription.id)
    assert changed["items"].data[0].price.id == annual.id
    invoice = sdk.v1.invoices.retrieve(changed.latest_invoice)
    assert invoice.amount_paid == int(shown.group(1)) * 100 + int(shown.group(2))

    hosted_page.get_by_role("link", name="Cancel plan").click()
    hosted_page.get_by_role("button", name="Cancel plan").click()

    expect(hosted_page.get_by_role("status")).to_contain_text("canceled at the end")
    expect(hosted_page.get_by_role("button", name="Renew plan")).to_be_visible()
    assert sdk.v1.subscriptions.retrieve(subscription.id).cancel_at_period_end is True

    hosted_page.get_by_role("link", name="Return").click()
    expect(hosted_page).to_have_url(f"{site}/account")
