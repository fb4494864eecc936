"""Steps browser tests share."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def log_in(page: Page, email: str, password: str) -> None:
    """Log in through the login page, and wait until the account menu names the user."""
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_label("Account menu")).to_have_text(email)
