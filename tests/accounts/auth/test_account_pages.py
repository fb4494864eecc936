"""Sign-up, login, logout, profile and passwords on allauth, with Portal's pages."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from accounts.models import User
from tests.accounts.auth.auth_helpers import link_in, signup

pytestmark = pytest.mark.django_db


def test_signup_mails_a_link_and_logs_in_only_once_it_is_followed(client, mailoutbox):
    response = signup(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="new@example.com")
    assert "_auth_user_id" not in client.session
    assert EmailAddress.objects.get(user=user).verified is False
    assert "Check your email" in client.get(response["Location"]).text

    confirm = link_in(mailoutbox[0], "/accounts/confirm-email/")
    assert "Confirm" in client.get(confirm).text
    response = client.post(confirm)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert EmailAddress.objects.get(user=user).verified is True


def test_signup_goes_on_to_a_local_next_url_once_verified(client, mailoutbox):
    signup(client, next="/pricing/?interval=year")

    response = client.post(link_in(mailoutbox[0], "/accounts/confirm-email/"))

    assert response["Location"] == "/pricing/?interval=year"


def test_signup_refuses_an_offsite_next_url(client, mailoutbox):
    signup(client, next="https://evil.example.com/")

    response = client.post(link_in(mailoutbox[0], "/accounts/confirm-email/"))

    assert response["Location"] == reverse("home")


def test_signup_with_optional_verification_logs_in_at_once(client, settings, mailoutbox):
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"

    response = signup(client)

    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(User.objects.get(email="new@example.com").pk)
    assert len(mailoutbox) == 1  # the link, to verify when they like


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
        "/accounts/signup/",
        {"email": "x@example.com", "password1": "a-long-passphrase-1", "password2": "other-one-2"},
    )

    assert response.status_code == 200
    assert "You must type the same password each time" in response.text


def test_signup_with_an_invalid_email_shows_an_error(client):
    response = signup(client, email="not-an-email")

    assert response.status_code == 200
    assert "Enter a valid email address" in response.text


def test_the_login_page_asks_for_email_and_password(client):
    page = client.get(reverse("account_login")).text

    assert ">Email</label>" in page
    assert ">Password</label>" in page
    assert ">Log in</button>" in page
    assert "username" not in page.lower()


def test_login_with_a_wrong_password_shows_an_error(client, user):
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": "wrong-password"}
    )

    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.text
    assert "_auth_user_id" not in client.session


def test_login_and_logout(client, user, password):
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_logout_by_get_only_asks(client, user):
    client.force_login(user)

    response = client.get(reverse("account_logout"))

    assert response.status_code == 200
    assert "_auth_user_id" in client.session


def test_profile_requires_login(client):
    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_profile_saves_the_name_and_shows_the_account_security(client, user):
    client.force_login(user)
    page = client.get(reverse("accounts:profile")).text
    assert "Verified" in page
    assert "Two-factor authentication: off" in page

    response = client.post(reverse("accounts:profile"), {"first_name": "Ada", "last_name": "L"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.get_full_name() == "Ada L"


def test_password_change(client, user, password):
    client.post(reverse("account_login"), {"login": user.email, "password": password})

    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": password,
            "password1": "another-long-passphrase",
            "password2": "another-long-passphrase",
        },
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-long-passphrase")


def test_password_reset_mails_a_working_link(client, user, mailoutbox):
    response = client.post(reverse("account_reset_password"), {"email": user.email})

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    response = client.get(link_in(mailoutbox[0], "/accounts/password/reset/key/"), follow=True)
    assert response.status_code == 200
    response = client.post(
        response.redirect_chain[-1][0],
        {"password1": "brand-new-passphrase", "password2": "brand-new-passphrase"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-passphrase")


def test_every_account_page_is_in_portals_layout(client, user):
    """allauth's pages are rendered from Portal's layout and elements: the navigation, the
    stylesheet, the card; never allauth's bare markup."""
    anonymous = ["account_login", "account_signup", "account_reset_password"]
    for name in anonymous:
        page = client.get(reverse(name)).text
        assert "data-account-page" in page and "css/dist/styles.css" in page, name
    client.force_login(user)
    for name in ["account_email", "account_change_password", "mfa_index", "account_logout"]:
        page = client.get(reverse(name)).text
        assert "data-account-page" in page and "css/dist/styles.css" in page, name
        assert "<strong>Menu:</strong>" not in page, name
