"""allauth's rate limits, answered with Portal's 429 page."""

from __future__ import annotations

import time
from unittest import mock

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def test_the_sixth_failed_login_gets_429_and_the_right_password_works_later(client, user, password):
    for _ in range(5):
        response = client.post(LOGIN, {"login": user.email, "password": "wrong-password"})
        assert response.status_code == 200
        assert "not correct" in response.text

    locked = client.post(LOGIN, {"login": user.email, "password": "wrong-password"})
    assert locked.status_code == 429
    assert "Too many attempts" in locked.text
    assert "css/dist/styles.css" in locked.text  # Portal's page, in Portal's layout
    # Even the right password waits until the five minutes are up.
    assert client.post(LOGIN, {"login": user.email, "password": password}).status_code == 429
    assert "_auth_user_id" not in client.session

    later = time.time() + 5 * 60 + 1
    with mock.patch("allauth.core.internal.ratelimit.time.time", return_value=later):
        response = client.post(LOGIN, {"login": user.email, "password": password})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_successful_login_does_not_use_up_an_attempt(client, user, password):
    for _ in range(8):
        response = client.post(LOGIN, {"login": user.email, "password": password})
        assert response.status_code == 302
        client.post(reverse("account_logout"))


def test_password_reset_mails_are_limited_per_address(client, user, mailoutbox):
    answers = [
        client.post(reverse("account_reset_password"), {"email": user.email}).status_code
        for _ in range(6)
    ]

    assert answers == [302] * 5 + [429]
    assert len(mailoutbox) == 5


def test_sign_ups_are_limited_per_ip_address(client):
    answers = [
        client.post(
            "/accounts/signup/",
            {"email": f"n{n}@example.com", "password1": "pw-x-1234567", "password2": "pw"},
        ).status_code
        for n in range(21)
    ]

    assert answers == [200] * 20 + [429]


def test_rate_limits_can_be_switched_off(client, user, settings):
    settings.ACCOUNT_RATE_LIMITS = False

    answers = {
        client.post(LOGIN, {"login": user.email, "password": "wrong"}).status_code
        for _ in range(12)
    }

    assert answers == {200}
