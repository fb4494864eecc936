"""Social login (Google, GitHub) is offered only for providers whose client id and secret are
set (`SOCIALACCOUNT_GOOGLE_CLIENT_ID`/`_SECRET`, `SOCIALACCOUNT_GITHUB_...`)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def google(settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APPS": [{"client_id": "portal-client-id", "secret": "portal-secret"}]}
    }


def test_with_no_provider_set_nothing_about_social_login_appears(client, user, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    for name in ("account_login", "account_signup"):
        page = client.get(reverse(name)).text
        assert "Google" not in page and "GitHub" not in page, name
        assert "data-social-provider" not in page, name
    client.force_login(user)
    assert "Connected accounts" not in client.get(reverse("accounts:profile")).text


@pytest.mark.parametrize("path", ["/accounts/google/login/", "/accounts/github/login/"])
def test_an_unset_providers_login_url_is_a_404(client, settings, path):
    settings.SOCIALACCOUNT_PROVIDERS = {}

    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404
    assert client.get(path + "callback/", {"code": "x", "state": "y"}).status_code == 404


def test_a_set_provider_is_offered_on_login_and_sign_up(client, google):
    for name in ("account_login", "account_signup"):
        page = client.get(reverse(name)).text
        assert 'data-social-provider="google"' in page, name
        assert "Continue with Google" in page, name
        assert "GitHub" not in page, name


def test_continuing_with_google_asks_first_then_goes_to_google(client, google):
    confirm = client.get("/accounts/google/login/", {"process": "login"})
    assert confirm.status_code == 200
    assert "data-account-page" in confirm.text

    response = client.post("/accounts/google/login/", {"process": "login"})

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc == "accounts.google.com"
    assert parse_qs(location.query)["client_id"] == ["portal-client-id"]


def test_the_profile_links_to_connected_accounts_when_a_provider_is_set(client, user, google):
    client.force_login(user)

    assert "Connected accounts" in client.get(reverse("accounts:profile")).text
    assert client.get(reverse("socialaccount_connections")).status_code == 200
