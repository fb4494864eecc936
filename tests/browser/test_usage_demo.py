"""The Subscription Demo's "Use the API" button in a browser: the count climbs at each click,
the usage reaches Stripe's meter within seconds with no worker running, and the status page
shows it."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from portal.stripe_client import stripe_client
from tests.accounts.gating_support import demo_plans_ensure, user_create
from tests.accounts.usage.conftest import demo_meter_synced, demo_metered_subscribe
from tests.browser.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_click_counts_and_reaches_stripe_within_seconds(page: Page, stripe_settings) -> None:
    demo_plans_ensure(stripe_settings.api_base)
    user = user_create("usage")
    demo_metered_subscribe(user, "starter")
    meter_id = demo_meter_synced()
    started = int(time.time())
    log_in(page, user.email, "a-long-passphrase")

    page.goto("/subscription/demo/")
    button = page.get_by_role("button", name="Use the API")
    for clicks in (1, 2, 3):
        button.click()
        expect(page.locator("[data-api-calls]")).to_have_text(str(clicks))

    # No broker: the web process flushes on its own, within seconds.
    deadline = time.monotonic() + 15
    counted = 0.0
    while time.monotonic() < deadline:
        now = int(time.time())
        summaries = stripe_client().v1.billing.meters.event_summaries.list(
            meter_id,
            params={
                "customer": user.customer.id,
                "start_time": started - started % 60,
                "end_time": now - now % 60 + 60,
            },
        )
        counted = sum(summary.aggregated_value for summary in summaries.data)
        if counted == 3:
            break
        time.sleep(0.3)
    assert counted == 3

    page.goto("/subscription/")
    panel = page.locator("[data-usage-panel]")
    expect(panel.locator('[data-meter="api_calls"] [data-used]')).to_have_text("3 API calls")
    expect(panel.locator("[data-included]")).to_have_text("10,000")
    expect(panel.locator("[data-billable]")).to_have_text("0")
    expect(panel.locator("[data-rate]")).to_contain_text(
        "10,000 API calls included, then $0.002 per API call"
    )
