from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db


def signup(client, email="new@example.com", password="a-long-unusual-passphrase", **extra):
    data = {"email": email, "password1": password, "password2": password, **extra}
    return client.post(reverse("accounts:signup"), data)


def test_signup_creates_the_user_and_logs_them_in(client):
    response = signup(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    user = User.objects.get(email="new@example.com")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signup_returns_to_a_local_next_url(client):
    response = signup(client, next="/pricing/?interval=year")

    assert response["Location"] == "/pricing/?interval=year"


def test_signup_refuses_an_offsite_next_url(client):
    response = signup(client, next="https://evil.example.com/")

    assert response["Location"] == reverse("home")


def test_signup_with_a_taken_email_shows_a_field_error(client, user):
    response = signup(client, email=user.email.upper())

    assert response.status_code == 200
    assert "An account with this email already exists" in response.text
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "This password is too short"),
        ("password123", "This password is too common"),
        ("8461937250", "This password is entirely numeric"),
    ],
)
def test_signup_with_a_weak_password_shows_why(client, password, message):
    response = signup(client, password=password)

    assert response.status_code == 200
    assert message in response.text
    assert not User.objects.exists()


def test_signup_with_mismatched_passwords_shows_an_error(client):
    response = client.post(
        reverse("accounts:signup"),
        {"email": "x@example.com", "password1": "a-long-passphrase-1", "password2": "other-one-2"},
    )

    assert response.status_code == 200
    assert "didn’t match" in response.text


def test_signup_with_an_invalid_email_shows_an_error(client):
    response = signup(client, email="not-an-email")

    assert response.status_code == 200
    assert "Enter a valid email address" in response.text


def test_login_with_a_wrong_password_shows_an_error(client, user):
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": "wrong-password"}
    )

    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.text
    assert "_auth_user_id" not in client.session


def test_login_and_logout(client, user, password):
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": password}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_logout_by_get_is_refused(client, user):
    client.force_login(user)

    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert "_auth_user_id" in client.session


def test_profile_requires_login(client):
    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_profile_saves_the_name(client, user):
    client.force_login(user)

    response = client.post(reverse("accounts:profile"), {"first_name": "Ada", "last_name": "L"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.get_full_name() == "Ada L"


def test_password_change(client, user, password):
    client.force_login(user)

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": password,
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-passphrase")


def test_password_reset_mails_a_working_link(client, user, mailoutbox):
    response = client.post(reverse("accounts:password_reset"), {"email": user.email})

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = next(line for line in mailoutbox[0].body.splitlines() if "/password/reset/" in line)
    path = "/" + link.split("/", 3)[3]
    response = client.get(path, follow=True)
    assert response.status_code == 200
    response = client.post(
        response.redirect_chain[-1][0],
        {"new_password1": "brand-new-passphrase", "new_password2": "brand-new-passphrase"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-passphrase")


def test_password_reset_for_an_unknown_email_sends_nothing(client, mailoutbox):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert mailoutbox == []
