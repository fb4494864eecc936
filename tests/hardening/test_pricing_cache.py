"""The pricing page's caching: the catalog cached under a stamp that product and price webhooks
change, and an ETag that turns an unchanged page into a 304."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.stripe_client import stripe_client
from pricing.selectors import catalog_for_page
from tests.accounts.billing_helpers import plan_offer, plan_price_create
from tests.accounts.webhooks.webhook_helpers import events_since, server_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def offered(stripe_settings, monkeypatch):
    price = plan_price_create(unit_amount=4200)
    return plan_offer(monkeypatch, price), price


def event_of(since: int, object_id: str, event_type: str) -> dict:
    [event] = [e for e in events_since(since, object_ids={object_id}) if e["type"] == event_type]
    return event


def test_a_product_webhook_changes_the_cached_catalog_at_once(
    offered, poster, stripe_settings, django_assert_num_queries
):
    plan, _ = offered
    catalog_for_page(interval="month", seats=1)
    with django_assert_num_queries(1):  # served from the cache
        cached = catalog_for_page(interval="month", seats=1)
    assert plan.slug in [card.slug for card in cached.plans]
    since = server_now(stripe_settings)
    stripe_client().v1.products.update(plan.stripe_id, params={"active": False})

    assert poster.post(event_of(since, plan.stripe_id, "product.updated")).status_code == 200

    cards = catalog_for_page(interval="month", seats=1)
    assert plan.slug not in [card.slug for card in cards.plans]
    assert plan in cards.unavailable


def test_a_price_webhook_changes_the_page(offered, poster, stripe_settings):
    plan, _ = offered
    client = Client()
    assert "$42" in client.get("/pricing/").content.decode()
    since = server_now(stripe_settings)
    newer = stripe_client().v1.prices.create(
        params={
            "product": plan.stripe_id,
            "currency": "usd",
            "unit_amount": 5100,
            "recurring": {"interval": "month"},
        }
    )

    assert poster.post(event_of(since, newer.id, "price.created")).status_code == 200

    page = client.get("/pricing/").content.decode()
    assert "$51" in page and "$42" not in page


def test_an_unchanged_page_is_a_304_and_a_changed_one_is_not(offered, stripe_settings):
    plan, _ = offered
    client = Client()
    client.get("/pricing/")  # a first visit sets the CSRF cookie, which the page's forms use
    first = client.get("/pricing/", {"interval": "month"})
    etag = first["ETag"]
    assert first.status_code == 200 and etag
    assert "no-cache" in first["Cache-Control"] and "private" in first["Cache-Control"]

    again = client.get("/pricing/", {"interval": "month"}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""

    # Another query, the htmx partial, another visitor, or a new price: a fresh page.
    assert client.get("/pricing/", {"interval": "year"}, HTTP_IF_NONE_MATCH=etag).status_code == 200
    partial = client.get(
        "/pricing/", {"interval": "month"}, HTTP_IF_NONE_MATCH=etag, HTTP_HX_REQUEST="true"
    )
    assert partial.status_code == 200
    assert Client().get("/pricing/", HTTP_IF_NONE_MATCH=etag).status_code == 200
    plan_price_create(unit_amount=4300, product=plan.stripe_id)
    changed = client.get("/pricing/", {"interval": "month"}, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_a_logged_in_visitor_gets_their_own_etag_and_messages_are_never_swallowed(
    offered, user, stripe_settings
):
    client = Client()
    client.get("/pricing/")
    anonymous_etag = client.get("/pricing/")["ETag"]
    client.force_login(user)
    mine = client.get("/pricing/")
    assert mine["ETag"] != anonymous_etag
    # Manage billing without a billing account: a message, and a redirect to this page.
    redirected = client.post("/subscription/billing/")
    assert redirected["Location"] == "/pricing/"

    page = client.get("/pricing/", HTTP_IF_NONE_MATCH=mine["ETag"])

    assert page.status_code == 200
    assert "ETag" not in page
    assert "You have no billing account yet" in page.content.decode()


def test_coupon_and_promotion_code_webhooks_change_a_promotion_link_at_once(
    offered, poster, stripe_settings
):
    since = server_now(stripe_settings)
    client_ = stripe_client()
    coupon = client_.v1.coupons.create(params={"percent_off": 50, "duration": "forever"})
    code = client_.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}, "code": f"HALF{coupon.id}"}
    )
    visitor = Client()
    assert "We don&#x27;t know the code" in visitor.get("/pricing/", {"promo": code.code}).text

    for event_type, object_id in (
        ("coupon.created", coupon.id),
        ("promotion_code.created", code.id),
    ):
        assert poster.post(event_of(since, object_id, event_type)).status_code == 200
    applied = visitor.get("/pricing/", {"promo": code.code})
    assert "data-discounted-price>$21<" in applied.text  # $42 less 50%
    since = server_now(stripe_settings)
    client_.v1.promotion_codes.update(code.id, params={"active": False})

    assert poster.post(event_of(since, code.id, "promotion_code.updated")).status_code == 200

    page = visitor.get("/pricing/", {"promo": code.code}, HTTP_IF_NONE_MATCH=applied["ETag"])
    assert page.status_code == 200
    assert f"The code {code.code} is no longer available" in page.text
    assert "data-discounted-price" not in page.text
