"""The pricing page in a real browser: the interval toggle, the seat count, no JavaScript."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from djstripe.models import Price
from playwright.sync_api import Browser, Page, expect

from stripe_server.testing import LocalStripe

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOT = Path(__file__).resolve().parents[2] / "test-artifacts" / "pricing-page.png"


@pytest.fixture
def demo_plans(stripe_settings: LocalStripe) -> None:
    call_command("bootstrap_demo_products", stdout=io.StringIO())
    call_command("bootstrap_subscriptions", stdout=io.StringIO())


def test_the_toggle_swaps_the_plans_in_place_and_back_brings_monthly_back(
    page: Page, demo_plans: None
) -> None:
    page.goto("/pricing/")
    pro = page.locator('[data-plan="pro"] [data-price]')
    expect(pro).to_have_text("$50")
    page.evaluate("window.pricingMarker = 'no reload'")

    page.get_by_role("link", name=re.compile("^Yearly")).click()
    expect(pro).to_have_text("$500")
    expect(page).to_have_url(re.compile(r"/pricing/\?interval=year"))
    expect(page.locator("#interval-year")).to_have_attribute("aria-current", "true")
    expect(page.locator("#interval-month")).not_to_have_attribute("aria-current", "true")
    expect(page.locator('[data-plan="pro"] [data-savings]')).to_have_text(
        "Save 16% compared with monthly"
    )
    assert page.evaluate("window.pricingMarker") == "no reload"
    if os.environ.get("PRICING_SCREENSHOT"):  # to look at the layout by eye
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.go_back()
    expect(pro).to_have_text("$50")
    expect(page).to_have_url(re.compile(r"/pricing/$"))
    expect(page.locator("#interval-month")).to_have_attribute("aria-current", "true")
    page.go_forward()
    expect(pro).to_have_text("$500")


def test_the_seat_count_reprices_per_seat_plans_as_it_changes(page: Page, demo_plans: None) -> None:
    page.goto("/pricing/")
    page.evaluate("window.pricingMarker = 'no reload'")
    team = page.locator('[data-plan="team"] [data-price]')
    expect(team).to_have_text("$10")
    page.get_by_label("Team size").fill("7")
    expect(team).to_have_text("$66")
    expect(page.locator('[data-plan="seat-packs"] [data-price]')).to_have_text("$50")
    expect(page.locator('[data-plan="pro"] [data-price]')).to_have_text("$50")
    expect(page).to_have_url(re.compile(r"seats=7"))

    page.get_by_label("Team size").fill("0")
    expect(page.get_by_role("alert")).to_contain_text("from 1 to 10,000")
    page.get_by_label("Team size").fill("12")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(team).to_have_text("$106")  # 5 x $10 + 7 x $8

    # Subscribe sends what the card shows: the swapped-in price and seat count.
    subscribe = page.locator('[data-subscribe="team"]')
    expect(subscribe.locator('input[name="seats"]')).to_have_value("12")
    monthly_price = subscribe.locator('input[name="price"]').input_value()

    # The toggle keeps the seat count.
    page.get_by_role("link", name=re.compile("^Yearly")).click()
    expect(team).to_have_text("$1,060")
    expect(subscribe.locator('input[name="price"]')).not_to_have_value(monthly_price)
    yearly_price = subscribe.locator('input[name="price"]').input_value()
    assert Price.objects.get(id=yearly_price).stripe_data["recurring"]["interval"] == "year"
    expect(subscribe.locator('input[name="seats"]')).to_have_value("12")
    assert page.evaluate("window.pricingMarker") == "no reload"


def test_without_javascript_the_toggle_is_a_link_to_the_full_page(
    browser: Browser, live_server, demo_plans: None
) -> None:
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/pricing/")
        page.get_by_role("link", name=re.compile("^Yearly")).click()
        expect(page).to_have_url(re.compile(r"interval=year"))
        expect(page.locator('[data-plan="starter"] [data-price]')).to_have_text("$250")
        page.get_by_label("Team size").fill("7")
        page.get_by_role("button", name="Update").click()
        expect(page.locator('[data-plan="team"] [data-price]')).to_have_text("$660")
    finally:
        context.close()
