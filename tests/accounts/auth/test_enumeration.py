"""No account enumeration: sign-up and password reset answer the same whether or not an
address has an account; its owner is mailed instead."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.accounts.auth.auth_helpers import signup

pytestmark = pytest.mark.django_db


def _page(response) -> tuple[int, str | None]:
    return response.status_code, response.get("Location")


def _main(page: str) -> str:
    """A page's main column (the rest carries a per-session CSRF token)."""
    return page[page.index("<main") : page.index("</main>")]


def test_signing_up_with_a_known_address_answers_as_for_a_new_one_and_mails_the_owner(
    user, password, mailoutbox
):
    known, unknown = Client(), Client()

    known_answer = signup(known, email=user.email.upper())
    unknown_answer = signup(unknown, email="newcomer@example.com")

    assert _page(known_answer) == _page(unknown_answer)
    assert _main(known.get(known_answer["Location"]).text) == _main(
        unknown.get(unknown_answer["Location"]).text
    )
    assert User.objects.filter(email__iexact=user.email).count() == 1
    user.refresh_from_db()
    assert user.check_password(password)
    to_owner = [message for message in mailoutbox if message.to == [user.email.lower()]]
    assert len(to_owner) == 1
    assert "already" in to_owner[0].body.lower()
    assert "password/reset" in to_owner[0].body
    assert "An account with this email already exists" not in known_answer.text


def test_password_reset_answers_the_same_for_an_unknown_address(client, user, mailoutbox):
    known = client.post(reverse("account_reset_password"), {"email": user.email})
    unknown = Client().post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    assert _page(known) == _page(unknown)
    assert "/accounts/password/reset/key/" in mailoutbox[0].body
    # The unknown address is told it has no account (and how to sign up), not given a link.
    assert mailoutbox[1].to == ["nobody@example.com"]
    assert "/accounts/password/reset/key/" not in mailoutbox[1].body


def test_a_wrong_password_and_an_unknown_address_get_the_same_login_error(client, user):
    wrong = client.post("/accounts/login/", {"login": user.email, "password": "nope-nope-1"})
    unknown = client.post(
        "/accounts/login/", {"login": "nobody@example.com", "password": "nope-nope-1"}
    )

    assert wrong.status_code == unknown.status_code == 200
    message = "The email address and/or password you specified are not correct."
    assert message in wrong.text and message in unknown.text
