"""Changing plan and cancelling in the local Stripe server's hosted Customer Portal."""

from __future__ import annotations

import uuid

import stripe
from playwright.sync_api import Page, expect


def test_customer_switches_to_annual_then_cancels_and_returns(
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
    hosted_page.get_by_label(f"{product.name} (Annual)").check()
    hosted_page.get_by_role("button", name="Confirm").click()

    expect(hosted_page.get_by_role("status")).to_have_text("Your plan has been updated.")
    expect(hosted_page.get_by_text("$120.00 every year")).to_be_visible()
    assert sdk.v1.subscriptions.retrieve(subscription.id)["items"].data[0].price.id == annual.id

    hosted_page.get_by_role("link", name="Cancel plan").click()
    hosted_page.get_by_role("button", name="Cancel plan").click()

    expect(hosted_page.get_by_role("status")).to_contain_text("canceled at the end")
    expect(hosted_page.get_by_role("button", name="Renew plan")).to_be_visible()
    assert sdk.v1.subscriptions.retrieve(subscription.id).cancel_at_period_end is True

    hosted_page.get_by_role("link", name="Return").click()
    expect(hosted_page).to_have_url(f"{site}/account")
