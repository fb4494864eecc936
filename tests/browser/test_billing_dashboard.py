"""The billing dashboard and the subscription list in a browser, as staff: the figures, the
charts (with their names, axes and tables), no sideways scrolling on a phone, and the list's
status filter and email search."""

from __future__ import annotations

import os
import re
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.metrics.models import BillingSnapshot, MrrSnapshot
from accounts.metrics.selectors import month_start, months_back
from accounts.metrics.services import billing_snapshot_take
from accounts.models import User
from tests.accounts.metrics.conftest import mix_make, named_price

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOT = Path(__file__).resolve().parents[2] / "test-artifacts" / "billing-dashboard.png"
PASSWORD = "a-long-passphrase"


def history_write(months: list, *, up_to: int) -> None:
    """Month-end snapshots of earlier months, as the snapshot service stores them: MRR growing
    to `up_to`, each month's movements adding up to its change."""
    mrr = 0
    for number, month in enumerate(months, start=1):
        target = up_to * number // (len(months) + 1)
        churn = target // 20
        day = month + timedelta(days=27)
        snapshot = BillingSnapshot.objects.create(
            date=day, taken_at=timezone.make_aware(datetime.combine(day, time(23)))
        )
        MrrSnapshot.objects.create(
            snapshot=snapshot,
            currency="usd",
            mrr=target,
            subscribers=max(1, number // 2),
            new=target - mrr + churn,
            churn=churn,
        )
        mrr = target


def test_staff_read_the_dashboard_and_filter_and_search_subscriptions(
    page: Page, stripe_settings
) -> None:
    mix = mix_make()
    now = timezone.now()
    yesterday = billing_snapshot_take(now=now - timedelta(days=1)).date
    mix.seats_set("tiered", 9)  # +16.00
    mix.seats_set("package", 15)  # -50.00
    mix.cancel("canceling")  # -15.00
    mix.start("new", named_price("Solo", unit_amount=1200))  # +12.00
    billing_snapshot_take(now=now)
    # Earlier months, before the first snapshot taken here.
    this_month = month_start(timezone.localdate(now))
    earlier = [months_back(this_month, back) for back in range(11, 0, -1)]
    history_write([month for month in earlier if month < month_start(yesterday)], up_to=35667)
    User.objects.create_superuser(email="founder@example.com", password=PASSWORD)

    page.goto("/admin/")
    page.get_by_label("Email address").fill("founder@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Billing dashboard").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Billing")
    expect(page.locator('[data-currency="usd"] [data-figure="mrr"]')).to_have_text("$319.67")
    expect(page.locator('[data-currency="usd"] [data-figure="subscribers"]')).to_have_text("7")
    expect(page.locator('[data-currency="eur"] [data-figure="mrr"]')).to_have_text("€20.00")
    mrr_chart = page.get_by_role("img", name="MRR at the end of each month, USD")
    expect(mrr_chart).to_be_visible()
    expect(mrr_chart.locator("rect")).to_have_count(12)
    expect(mrr_chart.locator("text", has_text="MRR (USD)")).to_have_count(1)
    movements = page.get_by_role("img", name="MRR movements each month, USD")
    expect(movements.locator('rect[data-kind="contraction"]')).to_have_count(1)
    expect(movements.locator('rect[data-kind="new"]')).to_have_count(11)
    table = page.get_by_role("table", name="MRR and its movements each month, USD")
    expect(table.locator(f'tr[data-month="{this_month:%Y-%m}"] td')).to_have_text(
        ["$319.67", "$12.00", "$16.00", "$50.00", "$15.00", "-$37.00"]
    )
    expect(page.locator("[data-figure=trials-running]")).to_have_text("1")
    past_due = page.get_by_role("table", name="Past-due subscriptions and their failed invoices")
    expect(past_due).to_contain_text(mix.holders["past_due"].email)
    if os.environ.get("DASHBOARD_SCREENSHOT"):  # the README's picture: today and the charts
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.locator("#toggle-nav-sidebar").click()
        page.set_viewport_size({"width": 1280, "height": 1440})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOT))
        page.locator("#toggle-nav-sidebar").click()

    # On a phone, nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1280, "height": 900})

    # From the past-due panel to the list, then its status filter and its email search.
    page.get_by_role("link", name="All past-due subscriptions").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(mix.subscriptions["past_due"])
    expect(rows.first.locator(".field-status")).to_have_text("Past due")
    filters = page.locator("#changelist-filter")
    filters.get_by_role("link", name="Canceled").click()
    expect(page).to_have_url(re.compile(r"status=canceled"))
    expect(rows).to_have_count(2)  # canceled from the start, and the one set to cancel
    expect(page.locator("#result_list")).to_contain_text(mix.holders["canceled"].email)
    expect(page.locator("#result_list")).to_contain_text(mix.holders["canceling"].email)
    filters.get_by_role("link", name="All").first.click()
    page.locator("#searchbar").fill(mix.holders["tiered"].email)
    page.locator("#searchbar").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".field-seats")).to_have_text("9")
    expect(rows.first.locator(".field-amount")).to_have_text("$82.00 per month")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
