"""The catalog selector: which price a card shows, and a bounded number of queries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from djstripe.models import Coupon, Price, PromotionCode

from portal.stripe_client import stripe_client
from pricing.catalog import catalog_stamp
from pricing.metadata import ProductMetadata
from pricing.selectors import catalog_for_page
from pricing.services import coupon_sync, promotion_code_sync, stripe_catalog_sync

pytestmark = pytest.mark.django_db

# Session and user (when logged in), the holder's subscription, products, prices.
PAGE_QUERY_BOUND = 6


@pytest.mark.parametrize("count", [3, 12])
def test_the_page_costs_the_same_bounded_queries_for_3_or_12_products(
    client: Client,
    make_plans: Callable[..., list[ProductMetadata]],
    use_products: Callable[[list[ProductMetadata]], None],
    django_assert_max_num_queries,
    django_assert_num_queries,
    user,
    count: int,
) -> None:
    use_products(make_plans(count))
    with django_assert_num_queries(4):  # the catalog's stamp, the products, their prices, meters
        catalog = catalog_for_page(interval="year", seats=3)
    assert len(catalog.plans) == count
    with django_assert_num_queries(1):  # cached under the stamp
        assert catalog_for_page(interval="year", seats=3) == catalog
    with django_assert_max_num_queries(PAGE_QUERY_BOUND):
        response = client.get("/pricing/", {"interval": "year"}, HTTP_HX_REQUEST="true")
    assert response.content.decode().count("data-price>") == count
    client.force_login(user)
    with django_assert_max_num_queries(PAGE_QUERY_BOUND):
        response = client.get("/pricing/", {"seats": "4"})
    assert response.content.decode().count("<article data-plan=") == count


def test_a_newer_price_replaces_an_older_one_unless_the_older_is_the_default(
    make_plans: Callable[..., list[ProductMetadata]],
) -> None:
    (plan,) = make_plans(1)
    client = stripe_client()
    newer = client.v1.prices.create(
        params={
            "product": plan.stripe_id,
            "currency": "usd",
            "unit_amount": 1900,
            "recurring": {"interval": "month"},
        }
    )
    stripe_catalog_sync()
    (card,) = catalog_for_page(interval="month", seats=1, products=[plan]).plans
    assert card.price_id == newer.id and card.price_text == "$19"

    older = Price.objects.filter(product_id=plan.stripe_id).exclude(id=newer.id)
    older_monthly = next(p for p in older if p.stripe_data["recurring"]["interval"] == "month")
    client.v1.products.update(plan.stripe_id, params={"default_price": older_monthly.id})
    stripe_catalog_sync()
    (card,) = catalog_for_page(interval="month", seats=1, products=[plan]).plans
    assert card.price_id == older_monthly.id


def test_products_missing_a_price_for_the_interval_are_left_out_not_unknown(
    make_plans: Callable[..., list[ProductMetadata]],
) -> None:
    plans = make_plans(2)
    Price.objects.filter(
        product_id=plans[1].stripe_id, stripe_data__recurring__interval="year"
    ).update(active=False)
    never_synced = ProductMetadata(stripe_id="prod_not_there", slug="ghost", name="Ghost")
    catalog = catalog_for_page(interval="year", seats=1, products=[*plans, never_synced])
    assert [card.slug for card in catalog.plans] == [plans[0].slug]
    assert [product.slug for product in catalog.unavailable] == [plans[1].slug, "ghost"]
    monthly = catalog_for_page(interval="month", seats=1, products=[*plans, never_synced])
    assert [card.slug for card in monthly.plans] == [plans[0].slug, plans[1].slug]


def test_volume_tiered_per_seat_cards_price_all_seats_at_the_reached_tier(
    make_plans: Callable[..., list[ProductMetadata]],
) -> None:
    (plan,) = make_plans(
        1,
        billing_scheme="tiered",
        tiers_mode="volume",
        tiers=[{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}],
    )
    seat_plan = ProductMetadata(stripe_id=plan.stripe_id, slug="vol", name="Vol", per_seat=True)
    (card,) = catalog_for_page(interval="month", seats=7, products=[seat_plan]).plans
    assert card.total == 5600 and card.price_text == "$56"
    assert card.pricing_lines[-1].endswith("the tier your total reaches.")


def test_the_catalog_stamp_changes_with_coupons_and_promotion_codes(stripe_settings) -> None:
    client = stripe_client()
    before = catalog_stamp()
    coupon = client.v1.coupons.create(params={"percent_off": 15})
    coupon_sync(coupon_id=coupon.id)
    with_coupon = catalog_stamp()
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": coupon.id}}
    )
    promotion_code_sync(promotion_code_id=code.id)
    with_code = catalog_stamp()
    client.v1.promotion_codes.update(code.id, params={"active": False})
    promotion_code_sync(promotion_code_id=code.id)
    deactivated = catalog_stamp()
    Coupon.objects.filter(id=coupon.id).delete()

    assert len({before, with_coupon, with_code, deactivated, catalog_stamp()}) == 5
    assert not PromotionCode.objects.get(id=code.id).stripe_data["active"]
