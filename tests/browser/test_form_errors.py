"""Portal's own forms in a real browser: a form that comes back with errors puts the focus on
the first field in error, which points at its message (Django's aria-describedby ids)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.teams.services import team_create
from tests.browser.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def focused(page: Page) -> dict[str, str | None]:
    """The focused element's name and what its aria-describedby says."""
    return page.evaluate(
        """() => {
          const element = document.activeElement;
          const ids = (element.getAttribute("aria-describedby") || "").split(" ");
          const texts = ids.map((id) => document.getElementById(id)).filter(Boolean);
          return {
            name: element.getAttribute("name"),
            description: texts.map((found) => found.textContent.trim()).join(" | ") || null,
          };
        }"""
    )


def test_a_sign_up_with_a_bad_password_comes_back_focused_on_it(page: Page) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("focus@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password confirmation").fill("short")

    page.get_by_role("button", name="Sign up").click()

    expect(page.locator("[aria-invalid='true']").first).to_be_focused()
    found = focused(page)
    assert found["name"] == "password1"
    assert "too short" in found["description"]


def test_an_invitation_to_a_bad_address_comes_back_focused_on_it(page: Page, password) -> None:
    admin = User.objects.create_user(email="inviter@example.com", password=password)
    team = team_create(name="Focus", creator=admin)
    log_in(page, admin.email, password)
    page.goto(f"/teams/{team.slug}/")

    page.get_by_label("Email address").fill("not an address")
    page.get_by_role("button", name="Send invitation").click()

    expect(page.get_by_label("Email address")).to_be_focused()
    assert focused(page) == {"name": "email", "description": "Enter a valid email address."}
