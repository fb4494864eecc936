from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import User
from tests.accounts.billing_helpers import plan_offer, plan_price_create, site_domain_set

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-unusual-passphrase"


def mailed_link(to: str, fragment: str) -> str:
    """The path of the link containing `fragment` in the latest mail to `to` (the live server
    runs in this process, so its mail is in Django's test outbox)."""
    message = [message for message in mail.outbox if message.to == [to]][-1]
    for url in re.findall(r"https?://\S+", message.body):
        path = "/" + url.split("/", 3)[3]
        if fragment in path:
            return path
    raise AssertionError(message.body)


def sign_up(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()


def verify(page: Page, email: str) -> None:
    page.goto(mailed_link(email, "/accounts/confirm-email/"))
    page.get_by_role("button", name="Confirm").click()


def test_sign_up_verify_log_out_and_log_back_in(page: Page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    sign_up(page, "grace@example.com")
    assert User.objects.filter(email="grace@example.com").exists()
    expect(page.get_by_label("Account menu")).to_have_count(0)  # not logged in yet

    verify(page, "grace@example.com")

    menu = page.get_by_label("Account menu")
    expect(menu).to_have_text("grace@example.com")
    menu.click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill("a-wrong-passphrase")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("not correct")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_label("Account menu")).to_have_text("grace@example.com")


def test_sign_up_from_subscribe_verify_from_the_mail_and_land_in_checkout(
    page: Page, live_server, stripe_settings, monkeypatch
):
    site_domain_set(urlsplit(live_server.url).netloc)
    price = plan_price_create(unit_amount=5000)
    plan_offer(monkeypatch, price)
    name = price.product.name

    page.goto("/pricing/")
    page.get_by_role("button", name=f"Subscribe to {name}").click()

    expect(page.locator("[data-chosen-plan-text]")).to_contain_text(
        f"You are signing up for {name} — $50 per month."
    )
    sign_up(page, "buyer@example.com")
    verify(page, "buyer@example.com")

    # Logged in, on the chosen plan's page, and on to Stripe's hosted Checkout.
    expect(page.get_by_label("Account menu")).to_have_text("buyer@example.com")
    expect(page.locator(f'[data-chosen-plan="{price.id}"]')).to_be_visible()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/_hosted/checkout/cs_"))
    expect(page.get_by_label("Card number")).to_be_visible()
