from __future__ import annotations

import pytest
import requests
from django.urls import reverse

from accounts.billing.customer_portal import (
    billing_portal_configuration_ensure,
    billing_portal_session_create,
)
from accounts.billing.errors import NoBillingAccountError
from tests.accounts.billing_helpers import plan_price_create, site_domain_set, subscription_start
from tests.portal.test_stripe_client import closed_port

pytestmark = pytest.mark.django_db

MANAGE = "/subscription/billing/"


@pytest.fixture
def subscriber(stripe_settings, user):
    subscription_start(holder=user, price=plan_price_create())
    return user


def test_manage_billing_redirects_to_the_portal_with_303(client, subscriber):
    client.force_login(subscriber)

    response = client.post(MANAGE)

    assert response.status_code == 303
    assert "/_hosted/portal/" in response["Location"]


def test_manage_billing_over_htmx_gets_an_hx_redirect(client, subscriber):
    client.force_login(subscriber)

    response = client.post(MANAGE, HTTP_HX_REQUEST="true")

    assert "/_hosted/portal/" in response["HX-Redirect"]


def test_the_portal_returns_to_the_status_page(subscriber):
    site_domain_set("portal.test")

    url = billing_portal_session_create(
        holder=subscriber, return_url="http://portal.test/subscription/?from=billing-portal"
    )

    page = requests.get(url, timeout=10).text
    assert "http://portal.test/subscription/?from=billing-portal" in page.replace("&amp;", "&")


def test_the_view_asks_for_the_status_page_as_return_url(client, subscriber, settings):
    site_domain_set("portal.test")
    settings.USE_HTTPS_IN_ABSOLUTE_URLS = True
    client.force_login(subscriber)

    portal = requests.get(client.post(MANAGE)["Location"], timeout=10).text

    assert "https://portal.test/subscription/?from=billing-portal" in portal.replace("&amp;", "&")


def test_manage_billing_is_post_only(client, subscriber):
    client.force_login(subscriber)

    assert client.get(MANAGE).status_code == 405


def test_manage_billing_needs_a_login(client, stripe_settings):
    response = client.post(MANAGE)

    assert response["Location"].startswith(reverse("account_login"))


def test_without_a_billing_account_you_are_sent_to_the_plans(client, user, stripe_settings):
    client.force_login(user)

    response = client.post(MANAGE)

    assert response["Location"] == reverse("pricing:pricing_page")
    with pytest.raises(NoBillingAccountError):
        billing_portal_session_create(holder=user, return_url="http://x/")


def test_only_the_holders_own_customer_is_opened(client, subscriber, django_user_model):
    other = django_user_model.objects.create_user(email="bob@example.com", password="x")
    subscription_start(holder=other, price=plan_price_create())
    client.force_login(other)

    portal = requests.get(client.post(MANAGE)["Location"], timeout=10).text

    assert other.email in portal or other.customer.id in portal
    assert subscriber.email not in portal


def test_stripe_unreachable_shows_a_retry(client, subscriber, settings, caplog):
    client.force_login(subscriber)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    response = client.post(MANAGE)

    assert response.status_code == 503
    assert "Try again" in response.text
    assert f'action="{MANAGE}"' in response.text
    assert "Stripe unavailable while trying to set up billing management" in caplog.text


def test_a_configuration_deactivated_since_is_replaced_on_the_next_click(subscriber, sdk):
    remembered = billing_portal_configuration_ensure()
    # Someone turns it off in the Dashboard; this process still remembers it.
    sdk.v1.billing_portal.configurations.update(remembered, params={"active": False})
    assert billing_portal_configuration_ensure() == remembered

    url = billing_portal_session_create(holder=subscriber, return_url="http://portal.test/")

    assert requests.get(url, timeout=10).status_code == 200
    replacement = billing_portal_configuration_ensure()
    assert replacement != remembered
    assert sdk.v1.billing_portal.configurations.retrieve(replacement).active
