"""The demo `make run` serves, on its own settings (`runlocal.DEMO_ENVIRONMENT` over Portal's
defaults): the demo user subscribes their team to the per-seat plan, invites a colleague who
signs up and joins, and the bill follows the team, pushed to Stripe within seconds with no
command run; the colleague gets the plan's content at once."""

from __future__ import annotations

import io
import re
import time
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from accounts.management.commands.create_demo_user import DEMO_EMAIL, DEMO_PASSWORD
from accounts.models import User
from portal.management.commands.runlocal import DEMO_ENVIRONMENT
from tests.accounts.billing_helpers import site_domain_set
from tests.accounts.teams.team_helpers import stripe_quantity
from tests.browser.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def make_run(settings, live_server, stripe_settings) -> None:
    """What `make run` does before serving: its settings, the demo user, the demo plans."""
    for name, value in DEMO_ENVIRONMENT.items():
        setattr(settings, name, value)
    settings.PORTAL_SEAT_SYNC_DELAY_SECONDS = None  # Portal's default, as `make run` has it
    settings.DEBUG = True  # `create_demo_user` is for DEBUG only
    call_command("create_demo_user", stdout=io.StringIO())
    settings.DEBUG = False
    call_command("bootstrap_demo_products", stdout=io.StringIO())
    call_command("bootstrap_subscriptions", stdout=io.StringIO())
    site_domain_set(urlsplit(live_server.url).netloc)


def test_the_demos_seats_follow_its_team(
    make_run, page: Page, browser: Browser, live_server, password, mailoutbox
) -> None:
    log_in(page, DEMO_EMAIL, DEMO_PASSWORD)

    # The pricing page prices the demo team's one member; Team says what it is against Pro.
    page.goto("/pricing/")
    expect(page.locator("#seats")).to_have_value("1")
    team_card = page.locator('[data-plan="team"]')
    expect(team_card).to_contain_text("Pro, priced per member instead of one flat price.")
    expect(team_card).to_contain_text("Less than Pro for teams of up to 4")
    team_card.get_by_role("button", name=re.compile("^Subscribe")).click()

    # Hosted Checkout: one seat, billed monthly.
    expect(page).to_have_url(re.compile(r"/_hosted/checkout/cs_"))
    expect(page.get_by_text("billed monthly")).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay $10.00").click()
    expect(page).to_have_url(f"{live_server.url}/subscription/")
    expect(page.locator("[data-plan-name]")).to_have_text("Team")

    # The team page: one member, one seat; invite a colleague.
    page.get_by_role("link", name="Team", exact=True).click()
    expect(page.locator("[data-team-name]")).to_have_text("Demo team")
    expect(page.locator("[data-billed-seats]")).to_have_text("1 seat")
    page.get_by_label("Email address").fill("colleague@example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to colleague@example.com")
    link = re.search(r"https?://[^/\s]+(/teams/invitations/\S+/)", mailoutbox[-1].body).group(1)

    # The colleague signs up from the invitation (its first button) and joins.
    context = browser.new_context(base_url=live_server.url)
    colleague = context.new_page()
    colleague.goto(link)
    colleague.locator("[data-invitation] .btn-primary").click()
    expect(colleague.get_by_label("Email")).to_have_value("colleague@example.com")
    colleague.get_by_label("Password", exact=True).fill(password)
    colleague.get_by_label("Password confirmation").fill(password)
    colleague.get_by_role("button", name="Sign up").click()
    colleague.get_by_role("button", name="Accept invitation").click()
    expect(colleague.get_by_role("status")).to_contain_text("Welcome to Demo team!")

    # The team's plan is theirs at once: the demo's content for it, no upgrade prompt.
    colleague.goto("/subscription/demo/")
    expect(colleague.locator('[data-plan-content="pro"]')).to_be_visible()
    expect(colleague.locator("[data-upgrade-prompt]")).to_have_count(0)
    context.close()

    # Two members: the page says when Stripe hears of it, and it does, with no command run.
    page.reload()
    expect(page.locator("[data-member-count]")).to_have_text("2")
    expect(page.locator("[data-seats-pending]")).to_contain_text(
        "your subscription moves to 2 seats within a minute"
    )
    deadline = time.monotonic() + 30
    while page.locator("[data-billed-seats]").inner_text() != "2 seats":
        assert time.monotonic() < deadline, "the seat change did not reach Stripe"
        time.sleep(1)
        page.reload()
    expect(page.locator("[data-billed-amount]")).to_have_text("$20")
    expect(page.locator("[data-seats-pending]")).to_have_count(0)
    team = User.objects.get(email=DEMO_EMAIL).teams.get()
    assert stripe_quantity(team.subscription.id) == 2
