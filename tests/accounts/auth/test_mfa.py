"""Two-factor authentication, optional per user from the profile page: an authenticator app
(TOTP, whose codes the tests compute themselves) and recovery codes."""

from __future__ import annotations

import base64
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.accounts.auth.auth_helpers import totp_code

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def test_totp_code_matches_rfc_6238s_test_vector():
    # RFC 6238, appendix B: the SHA1 secret "12345678901234567890" at T = 59 s gives 94287082
    # in 8 digits, so 287082 in 6.
    secret = base64.b32encode(b"12345678901234567890").decode()

    assert totp_code(secret, at=59) == "287082"


def enrol(client: Client) -> str:
    """Set up an authenticator app from the profile page's link; returns its secret."""
    profile = client.get(reverse("accounts:profile")).text
    assert "Two-factor authentication: off" in profile
    assert reverse("mfa_index") in profile
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7=]+)"', page.text)
    secret = secret or re.search(r'value="([A-Z2-7=]{32})"', page.text)
    assert secret, page.text
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret.group(1))})
    assert response.status_code == 302, response.text
    return secret.group(1)


def recovery_codes(client: Client) -> list[str]:
    page = client.get(reverse("mfa_view_recovery_codes")).text
    return re.findall(r"\b\d{8}\b", page[page.index("<main") :])


@pytest.fixture
def logged_in(user, password) -> Client:
    client = Client()
    assert client.post(LOGIN, {"login": user.email, "password": password}).status_code == 302
    return client


def test_enrolling_then_logging_in_with_a_totp_code(logged_in, user, password):
    secret = enrol(logged_in)
    assert (
        "Two-factor authentication: <strong>on</strong>"
        in logged_in.get(reverse("accounts:profile")).text
    )

    client = Client()
    response = client.post(LOGIN, {"login": user.email, "password": password})
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_logging_in_with_a_recovery_code_instead(logged_in, user, password):
    enrol(logged_in)
    codes = recovery_codes(logged_in)
    assert len(codes) == 10

    client = Client()
    client.post(LOGIN, {"login": user.email, "password": password})
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    # Each recovery code works once.
    again = Client()
    again.post(LOGIN, {"login": user.email, "password": password})
    assert again.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 200
    assert "_auth_user_id" not in again.session


def test_the_two_factor_pages_are_in_portals_layout(logged_in):
    enrol(logged_in)

    for name in ["mfa_index", "mfa_view_recovery_codes", "mfa_deactivate_totp"]:
        page = logged_in.get(reverse(name))
        assert page.status_code == 200, name
        assert "data-account-page" in page.text, name
