"""No secret is ever rendered: Django's SECRET_KEY, Stripe secret and restricted keys, and the
webhook signing secret, on every page the URLconf serves (the admin's included) to anonymous
visitors, subscribers and superusers, and on error pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from djstripe.models import APIKey

from tests.accounts.billing_helpers import plan_price_create, subscription_start
from tests.accounts.webhooks.webhook_helpers import SECRET
from tests.hardening.routes import all_routes

pytestmark = pytest.mark.django_db

DJANGO_SECRET = "hardening-django-secret-key-3f9a1c7e5b2d4a6c8e0f"
LIVE_SECRET = "sk_live_hardeningLiveKey00000000000000"
# Anything shaped like a Stripe secret, restricted key or signing secret.
SECRET_SHAPES = re.compile(r"\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9]{8,}|\bwhsec_[A-Za-z0-9]{8,}")


@pytest.fixture
def secrets(settings, stripe_settings) -> list[str]:
    settings.SECRET_KEY = DJANGO_SECRET
    settings.STRIPE_LIVE_SECRET_KEY = LIVE_SECRET
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    return [DJANGO_SECRET, LIVE_SECRET, SECRET, stripe_settings.api_key]


def assert_no_secret(body: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret not in body, f"{where} renders a secret"
    shaped = SECRET_SHAPES.findall(body)
    assert not shaped, f"{where} renders something shaped like a secret: {shaped[:3]}"


def test_no_page_renders_a_secret(secrets, django_user_model, settings):
    subscriber = django_user_model.objects.create_user(email="paying@example.com", password="x")
    subscription_start(holder=subscriber, price=plan_price_create(unit_amount=900))
    root = django_user_model.objects.create_superuser(email="root@example.com", password="x")
    # dj-stripe keeps the API key in the database; the admin lists it with
    # PORTAL_ADMIN_SHOW_ALL_DJSTRIPE_MODELS (its page is then rendered below).
    APIKey.objects.get_or_create(secret=secrets[-1], defaults={"livemode": False})
    visitors = {"anonymous": Client(), "subscriber": Client(), "superuser": Client()}
    visitors["subscriber"].force_login(subscriber)
    visitors["superuser"].force_login(root)
    pages = [
        route.path(slug="x", token="x", uidb64="MQ")
        for route in all_routes()
        if not route.csrf_exempt
        and "<path:" not in route.template
        # dj-stripe's admin actions take a model name in the URL (and answer an unknown one
        # with a 500, for staff only: dj-stripe's code, not ours).
        and route.name != "admin:djstripe_custom_action"
    ]
    pages += [f"/admin/djstripe/apikey/{key.pk}/change/" for key in APIKey.objects.all()] + [
        f"/admin/accounts/user/{subscriber.pk}/change/"
    ]
    seen = 0
    for who, client in visitors.items():
        for page in pages:
            response = client.get(page)
            if response.status_code == 200 and response.get("Content-Type", "").startswith(
                "text/html"
            ):
                seen += 1
            assert_no_secret(response.content.decode(errors="replace"), secrets, f"{page} ({who})")
    assert seen > 60  # the admin's pages and Portal's, really rendered


def test_error_pages_and_webhook_answers_render_no_secret(secrets, settings, client):
    settings.DEBUG = False
    for response in (
        client.get("/no-such-page/"),
        client.get("/subscription/checkout/", {"price": "nope"}),
        client.post("/stripe/webhook/", data=b"{}", content_type="application/json"),
        client.post(
            "/stripe/webhook/",
            data=b"{}",
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE="t=1,v1=00",
        ),
    ):
        assert response.status_code in (400, 404)
        assert_no_secret(response.content.decode(), secrets, response.request["PATH_INFO"])
