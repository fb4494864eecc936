"""bootstrap_demo_products and bootstrap_subscriptions, against the local Stripe server."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from djstripe.models import Coupon, Price, Product, PromotionCode

from portal.stripe_client import stripe_client
from pricing import metadata
from pricing.price_maths import price_terms_from_stripe, price_total
from pricing.services import DEMO_PRODUCTS, DEMO_PROMOTION
from stripe_server.testing import LocalStripe

pytestmark = pytest.mark.django_db

DEMO_LOOKUP_KEYS = [price.lookup_key for product in DEMO_PRODUCTS for price in product.prices]


def run(command: str) -> str:
    output = io.StringIO()
    call_command(command, stdout=output)
    return output.getvalue()


def _demo_prices(client) -> list:
    """The demo prices, found by lookup key (Stripe takes ten keys a request)."""
    return [
        price
        for start in range(0, len(DEMO_LOOKUP_KEYS), 10)
        for price in client.v1.prices.list(
            params={"lookup_keys": DEMO_LOOKUP_KEYS[start : start + 10], "limit": 100}
        ).data
    ]


def test_bootstrap_demo_products_creates_fixed_ids_and_lookup_keys_once(
    stripe_settings: LocalStripe,
) -> None:
    first = run("bootstrap_demo_products")
    client = stripe_client()
    for product in DEMO_PRODUCTS:
        assert client.v1.products.retrieve(product.id).name == product.name
    prices = _demo_prices(client)
    assert sorted(price.lookup_key for price in prices) == sorted(DEMO_LOOKUP_KEYS)
    assert "product prod_portal_basic (Basic)" in first
    assert "portal_basic_month: $10/month" in first

    second = run("bootstrap_demo_products")
    assert "Created" not in second
    # The meter, the products, their prices, the coupon and its promotion code.
    everything = 1 + len(DEMO_PRODUCTS) + len(DEMO_LOOKUP_KEYS) + 2
    assert f"0 created, {everything} already there" in second
    again = _demo_prices(client)
    assert sorted(price.id for price in again) == sorted(price.id for price in prices)


def test_bootstrap_demo_products_creates_the_launch_coupon_and_its_code_once(
    stripe_settings: LocalStripe,
) -> None:
    first = run("bootstrap_demo_products")
    client = stripe_client()
    coupon = client.v1.coupons.retrieve(DEMO_PROMOTION.coupon_id, params={"expand": ["applies_to"]})
    assert (coupon.percent_off, coupon.duration, coupon.duration_in_months) == (20, "repeating", 3)
    # Every demo plan but Basic, so the page shows a plan the code does not apply to.
    assert sorted(coupon.applies_to.products) == sorted(
        product.id for product in DEMO_PRODUCTS if product.id != "prod_portal_basic"
    )
    [code] = client.v1.promotion_codes.list(params={"code": "launch20", "active": True}).data
    assert (code.code, code.promotion.coupon) == ("LAUNCH20", coupon.id)
    assert f"coupon {coupon.id} (20% off for 3 months)" in first
    assert f"promotion code LAUNCH20 ({code.id})" in first

    second = run("bootstrap_demo_products")

    assert f"Found coupon {coupon.id}" in second
    assert f"Found promotion code LAUNCH20 ({code.id})" in second
    assert len(client.v1.promotion_codes.list(params={"code": "LAUNCH20"}).data) == 1


def test_bootstrap_subscriptions_syncs_every_price_and_prints_a_metadata_snippet(
    stripe_settings: LocalStripe,
) -> None:
    run("bootstrap_demo_products")
    output = run("bootstrap_subscriptions")
    for product in DEMO_PRODUCTS:
        assert Product.objects.filter(id=product.id).exists()
    demo_prices = Price.objects.filter(lookup_key__in=DEMO_LOOKUP_KEYS)
    assert demo_prices.count() == len(DEMO_LOOKUP_KEYS)
    for price in demo_prices:
        assert f"Synchronized plan {price.id}" in output
    snippet = output[output.index("ACTIVE_PRODUCTS = [") :]
    namespace: dict[str, object] = {
        "ProductMetadata": metadata.ProductMetadata,
        "UsageLimit": metadata.UsageLimit,
    }
    exec(snippet, namespace)  # noqa: S102 - the snippet is meant to be pasted as Python
    pasted = {product.stripe_id: product for product in namespace["ACTIVE_PRODUCTS"]}  # type: ignore[attr-defined]
    for shipped in metadata.ACTIVE_PRODUCTS:
        assert pasted[shipped.stripe_id] == shipped


def test_bootstrap_subscriptions_syncs_coupons_with_their_products_and_promotion_codes(
    stripe_settings: LocalStripe,
) -> None:
    run("bootstrap_demo_products")
    output = run("bootstrap_subscriptions")

    coupon = Coupon.objects.get(id=DEMO_PROMOTION.coupon_id)
    assert coupon.percent_off == 20
    assert "prod_portal_pro" in coupon.applies_to["products"]
    code = PromotionCode.objects.get(stripe_data__code="LAUNCH20", stripe_data__active=True)
    assert code.stripe_data["promotion"] == {"type": "coupon", "coupon": coupon.id}
    assert f"Synchronized coupon {coupon.id}" in output
    assert f"Synchronized promotion code LAUNCH20 ({code.id})" in output


def test_bootstrap_subscriptions_deletes_coupons_stripe_no_longer_has(
    stripe_settings: LocalStripe,
) -> None:
    client = stripe_client()
    coupon = client.v1.coupons.create(params={"percent_off": 5})
    run("bootstrap_subscriptions")
    assert Coupon.objects.filter(id=coupon.id).exists()
    client.v1.coupons.delete(coupon.id)

    output = run("bootstrap_subscriptions")

    assert not Coupon.objects.filter(id=coupon.id).exists()
    assert "Deleted 1 coupon(s)" in output


def test_synced_tiered_prices_keep_their_tiers(stripe_settings: LocalStripe) -> None:
    run("bootstrap_demo_products")
    run("bootstrap_subscriptions")
    graduated = Price.objects.get(lookup_key="portal_team_seats_month")
    assert [tier["up_to"] for tier in graduated.stripe_data["tiers"]] == [5, None]
    assert (
        price_total(terms=price_terms_from_stripe(data=graduated.stripe_data), quantity=7) == 6600
    )
    package = Price.objects.get(lookup_key="portal_seat_packs_year")
    assert package.stripe_data["transform_quantity"] == {"divide_by": 10, "round": "up"}


def test_bootstrap_subscriptions_deactivates_prices_stripe_no_longer_has(
    stripe_settings: LocalStripe,
) -> None:
    run("bootstrap_demo_products")
    run("bootstrap_subscriptions")
    # As if the local Stripe server's data were reset: the database has a price Stripe lacks.
    real = Price.objects.get(lookup_key="portal_pro_month")
    Price.objects.filter(pk=real.pk).update(id="price_reset_server_leftover")
    output = run("bootstrap_subscriptions")
    assert not Price.objects.get(id="price_reset_server_leftover").active
    assert Price.objects.get(id=real.id).active
    assert "Marked 1 price(s) inactive" in output


def test_bootstrap_demo_products_refuses_live_mode(stripe_settings: LocalStripe, settings) -> None:
    settings.STRIPE_LIVE_MODE = True
    with pytest.raises(Exception, match="live mode"):
        run("bootstrap_demo_products")


def test_bootstrap_subscriptions_says_what_to_check_when_stripe_is_unreachable(settings) -> None:
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    with pytest.raises(Exception, match="STRIPE_API_BASE"):
        run("bootstrap_subscriptions")
