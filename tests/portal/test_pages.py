from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_home_page_links_to_the_main_sections(client):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    for name in ("pricing:pricing_page", "accounts:subscription", "accounts:subscription_demo"):
        assert f'href="{reverse(name)}"' in response.text
    assert reverse("account_login") in response.text


def test_the_account_menu_shows_the_users_email(client, user):
    client.force_login(user)

    response = client.get(reverse("home"))

    assert user.email in response.text
    assert reverse("account_logout") in response.text


def test_pages_link_the_built_stylesheet_and_htmx(client):
    response = client.get(reverse("home"))

    assert "css/dist/styles.css" in response.text
    assert "htmx" in response.text


def test_unknown_pages_get_a_404(client):
    assert client.get("/no-such-page/").status_code == 404
