"""Teams in a real browser: an admin invites a member, the invitee signs up and accepts, and
after the seat sync the team's seat count and price change (and the pricing page follows)."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from accounts.models import User
from accounts.teams.services import team_create
from tests.accounts.teams.team_helpers import seat_plan_offer, stripe_quantity, team_subscribe
from tests.browser.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_inviting_a_member_changes_the_seat_count_and_price(
    page: Page, browser: Browser, live_server, stripe_settings, monkeypatch, settings, password,
    mailoutbox,
):  # fmt: skip
    settings.PORTAL_SUBSCRIPTION_HOLDER = "team"
    price = seat_plan_offer(monkeypatch, unit_amount=1200)
    admin = User.objects.create_user(email="lead@example.com", password=password)
    team = team_create(name="Lighthouse", creator=admin)
    subscription_id = team_subscribe(team, price)

    # The admin sees one seat at $12.
    log_in(page, admin.email, password)
    page.get_by_role("link", name="Team", exact=True).click()
    expect(page.locator("[data-team-name]")).to_have_text("Lighthouse")
    expect(page.locator("[data-member-count]")).to_have_text("1")
    expect(page.locator("[data-billed-seats]")).to_have_text("1 seat")
    expect(page.locator("[data-billed-amount]")).to_have_text("$12")

    # ...and invites a colleague by email.
    page.get_by_label("Email address").fill("keeper@example.com")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to keeper@example.com")
    expect(page.locator('[data-invitation="keeper@example.com"]')).to_be_visible()
    link = re.search(r"https?://[^/\s]+(/teams/invitations/\S+/)", mailoutbox[-1].body).group(1)

    # The colleague opens the link, signs up with the invited address, and accepts.
    context = browser.new_context(base_url=live_server.url)
    invitee = context.new_page()
    invitee.goto(link)
    expect(invitee.get_by_role("heading", name="Join Lighthouse")).to_be_visible()
    invitee.locator("[data-invitation]").get_by_role("link", name="Sign up").click()
    # The invited address is filled in and locked; the invitation verifies it.
    expect(invitee.get_by_label("Email")).to_have_value("keeper@example.com")
    expect(invitee.get_by_label("Email")).to_be_disabled()
    invitee.get_by_label("Password", exact=True).fill(password)
    invitee.get_by_label("Password confirmation").fill(password)
    invitee.get_by_role("button", name="Sign up").click()
    invitee.get_by_role("button", name="Accept invitation").click()
    expect(invitee.get_by_role("status")).to_contain_text("Welcome to Lighthouse!")
    expect(invitee.locator("[data-billing-admins-only]")).to_be_visible()
    context.close()

    # Two members now; Stripe catches up at the next sync.
    page.reload()
    expect(page.locator("[data-member-count]")).to_have_text("2")
    expect(page.locator("[data-seats-pending]")).to_be_visible()
    call_command("sync_subscriptions")
    assert stripe_quantity(subscription_id) == 2

    page.reload()
    expect(page.locator("[data-billed-seats]")).to_have_text("2 seats")
    expect(page.locator("[data-billed-amount]")).to_have_text("$24")
    expect(page.locator("[data-seats-pending]")).to_have_count(0)

    # The pricing page prices the team's two seats.
    page.goto("/pricing/")
    expect(page.locator("#seats")).to_have_value("2")
    card = page.locator("article[data-plan]").filter(has_text=price.product.name)
    expect(card.locator("[data-seats]")).to_contain_text("for 2 seats")
    expect(card).to_contain_text("$24")


def test_the_account_menu_loads_the_teams_when_opened_and_switches(
    page: Page, live_server, password
):
    user = User.objects.create_user(email="walker@example.com", password=password)
    team_create(name="Alpha", creator=user)
    team_create(name="Beta", creator=user)

    log_in(page, user.email, password)
    page.goto("/subscription/")
    page.get_by_label("Account menu").click()
    menu = page.locator("[data-account-menu]")
    expect(menu.locator('[data-team-switch="alpha"]')).to_have_attribute("aria-current", "true")

    menu.get_by_role("button", name="Beta").click()

    expect(page).to_have_url(re.compile(r"/subscription/$"))
    expect(page.get_by_role("status")).to_contain_text("You are now working in Beta.")
    page.get_by_label("Account menu").click()
    expect(menu.locator('[data-team-switch="beta"]')).to_have_attribute("aria-current", "true")
