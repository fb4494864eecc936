from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.templatetags.static import static
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


def test_unknown_pages_get_a_404_in_portals_layout(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.text
    assert f'href="{reverse("pricing:pricing_page")}"' in response.text


@pytest.mark.parametrize("path", ["/", "/pricing/", "/no-such-page/", "/admin/login/"])
def test_every_page_links_portals_icon_and_the_icon_is_there(client, path):
    response = client.get(path)

    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', response.text)
    assert icon is not None, path
    assert icon.group(1) == static("favicon.svg")
    assert finders.find("favicon.svg") is not None


def test_a_server_error_page_stands_alone_in_portals_layout():
    """Django renders 500.html without a request, so it must need none."""
    page = render_to_string("500.html")

    assert "Something went wrong on our side" in page
    assert static("favicon.svg") in page
    assert "<main" in page
