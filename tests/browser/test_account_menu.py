"""The account menu in a real browser: named by the address it shows, closed by Escape (the
focus back on its button) or by a click elsewhere, and usable from the keyboard alone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.teams.services import team_create
from tests.browser.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_escape_closes_the_account_menu_and_gives_the_focus_back(page: Page, password) -> None:
    user = User.objects.create_user(email="escape@example.com", password=password)
    team_create(name="Exits", creator=user)
    log_in(page, user.email, password)
    menu = page.locator("[data-account-menu]")
    button = menu.locator("summary")
    # Its name starts with what it shows, so speech input ("click escape at ...") finds it.
    expect(button).to_have_accessible_name("escape@example.com account menu")

    # Opened from the keyboard, its items are reachable with Tab.
    button.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    expect(menu.locator('[data-team-switch="exits"]')).to_be_visible()
    page.keyboard.press("Tab")
    expect(menu.get_by_role("button", name="Exits")).to_be_focused()

    page.keyboard.press("Escape")

    expect(menu).not_to_have_attribute("open", "")
    expect(menu.get_by_role("link", name="Profile")).to_be_hidden()
    expect(button).to_be_focused()


def test_a_click_elsewhere_closes_the_account_menu(page: Page, password) -> None:
    user = User.objects.create_user(email="elsewhere@example.com", password=password)
    log_in(page, user.email, password)
    menu = page.locator("[data-account-menu]")
    menu.locator("summary").click()
    expect(menu.get_by_role("link", name="Profile")).to_be_visible()

    page.get_by_role("main").click()

    expect(menu).not_to_have_attribute("open", "")
    expect(menu.get_by_role("link", name="Profile")).to_be_hidden()
