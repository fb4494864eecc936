"""Paying on the local Stripe server's hosted Checkout page in a real browser."""

from __future__ import annotations

import re
import uuid

import stripe
from playwright.sync_api import Page, expect


def _checkout(sdk: stripe.StripeClient, site: str, **extra: object) -> stripe.checkout.Session:
    product = sdk.v1.products.create({"name": "Business"})
    price = sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 2900,
            "recurring": {"interval": "month"},
        }
    )
    return sdk.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "line_items": [{"price": price.id, "quantity": 2}],
            "success_url": f"{site}/billing/success?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{site}/pricing",
            **extra,
        }
    )


def test_paying_with_a_test_card_redirects_to_the_success_url(
    hosted_page: Page, sdk: stripe.StripeClient, site: str
) -> None:
    session = _checkout(sdk, site)
    email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
    hosted_page.goto(session.url)
    expect(hosted_page.get_by_text("Local test Stripe — no real payments")).to_be_visible()
    expect(hosted_page.locator("#total-due")).to_have_text("$58.00")

    hosted_page.get_by_label("Email").fill(email)
    hosted_page.get_by_label("Card number").fill("4000 0000 0000 0002")
    hosted_page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    hosted_page.get_by_label("CVC").fill("123")
    hosted_page.get_by_role("button", name="Pay $58.00").click()
    expect(hosted_page.get_by_role("alert")).to_have_text("Your card was declined.")
    assert sdk.v1.customers.list({"email": email}).data == []

    hosted_page.get_by_label("Card number").fill("4242 4242 4242 4242")
    hosted_page.get_by_label("Name on card").fill("Grace Hopper")
    # Submitting from the keyboard works as well as clicking.
    hosted_page.get_by_label("Name on card").press("Enter")

    expect(hosted_page).to_have_url(
        re.compile(re.escape(f"{site}/billing/success?session_id={session.id}") + "$")
    )
    expect(hosted_page.get_by_role("heading", name="Back on the site")).to_be_visible()
    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert done.status == "complete"
    assert done.subscription.status == "active"
    assert done.subscription["items"].data[0].quantity == 2


def test_back_returns_to_the_cancel_url_without_paying(
    hosted_page: Page, sdk: stripe.StripeClient, site: str
) -> None:
    session = _checkout(sdk, site)
    hosted_page.goto(session.url)

    hosted_page.get_by_role("link", name="Back").click()

    expect(hosted_page).to_have_url(f"{site}/pricing")
    assert sdk.v1.checkout.sessions.retrieve(session.id).status == "open"


def _focused(page: Page) -> dict[str, str | None]:
    """The focused element: its id, and the text of what it says describes it."""
    return page.evaluate(
        """() => {
          const element = document.activeElement;
          const described = element.getAttribute("aria-describedby");
          return {
            id: element.id,
            invalid: element.getAttribute("aria-invalid"),
            description: described ? document.getElementById(described).textContent : null,
          };
        }"""
    )


def test_an_error_is_shown_by_its_field_which_takes_the_focus(
    hosted_page: Page, sdk: stripe.StripeClient, site: str
) -> None:
    session = _checkout(sdk, site)
    hosted_page.goto(session.url)
    hosted_page.get_by_label("Email").fill("focus@example.com")

    # Nothing typed in the card number: the page comes back with the focus on it.
    hosted_page.get_by_role("button", name="Pay $58.00").click()

    expect(hosted_page.get_by_role("alert")).to_have_text("Enter your card number.")
    assert _focused(hosted_page) == {
        "id": "card_number",
        "invalid": "true",
        "description": "Enter your card number.",
    }
    # The first error is the only one: the rest of the form is left as it was typed.
    expect(hosted_page.locator("[aria-invalid]")).to_have_count(1)
    expect(hosted_page.get_by_label("Email")).to_have_value("focus@example.com")

    # A wrong expiry moves the error, and the focus, to the expiry field.
    hosted_page.get_by_label("Card number").fill("4242 4242 4242 4242")
    hosted_page.get_by_label("Card number").press("Enter")
    assert _focused(hosted_page)["id"] == "card_expiry"
    expect(hosted_page.get_by_role("alert")).to_have_text("Enter the expiry date as MM / YY.")

    # Typing goes where the focus is: fixing the field needs no click.
    hosted_page.keyboard.type("12 / 34")
    hosted_page.get_by_label("CVC").fill("123")
    hosted_page.get_by_label("CVC").press("Enter")
    expect(hosted_page).to_have_url(re.compile(re.escape(f"{site}/billing/success")))


def test_a_promotion_code_error_is_the_code_fields_and_takes_the_focus(
    hosted_page: Page, sdk: stripe.StripeClient, site: str
) -> None:
    session = _checkout(sdk, site, allow_promotion_codes=True)
    hosted_page.goto(session.url)

    hosted_page.get_by_label("Promotion code").fill("NOT-A-CODE")
    hosted_page.get_by_role("button", name="Apply").click()

    expect(hosted_page.get_by_role("alert")).to_have_text("This code is invalid.")
    assert _focused(hosted_page) == {
        "id": "promotion_code",
        "invalid": "true",
        "description": "This code is invalid.",
    }
