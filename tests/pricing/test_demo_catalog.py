"""The demo catalog tells one story: what a plan's card claims about its price against another
plan is true at every team size and interval, by arithmetic written here, and the words in
`pricing/metadata.py` are the ones `bootstrap_demo_products` gives the products in Stripe."""

from __future__ import annotations

import re

import pytest

from pricing.metadata import ACTIVE_PRODUCTS
from pricing.services import DEMO_PRODUCTS

PLANS = {plan.slug: plan for plan in ACTIVE_PRODUCTS}
DEMO = {product.id: product for product in DEMO_PRODUCTS}


def demo_price(product_id: str, interval: str) -> dict:
    product = DEMO[product_id]
    return next(price.params for price in product.prices if price.interval == interval)


def team_total(seats: int, interval: str) -> int:
    """Graduated: each of the first five seats at the first tier's price, the rest at the
    second's."""
    first, after = (
        tier["unit_amount"] for tier in demo_price("prod_portal_team_seats", interval)["tiers"]
    )
    return min(seats, 5) * first + max(0, seats - 5) * after


def packs_total(seats: int, interval: str) -> int:
    params = demo_price("prod_portal_seat_packs", interval)
    packs = -(-seats // params["transform_quantity"]["divide_by"])  # started packs, whole
    return packs * params["unit_amount"]


def pro_total(interval: str) -> int:
    return demo_price("prod_portal_pro", interval)["unit_amount"]


@pytest.mark.parametrize("interval", ["month", "year"])
def test_team_is_less_than_pro_for_exactly_the_team_sizes_its_card_names(interval):
    claim = next(f for f in PLANS["team"].features if f.startswith("Less than Pro"))
    named = int(re.search(r"up to (\d+)", claim).group(1))

    cheaper = [
        seats for seats in range(1, 101) if team_total(seats, interval) < pro_total(interval)
    ]

    assert cheaper == list(range(1, named + 1))


@pytest.mark.parametrize("interval", ["month", "year"])
def test_a_seat_pack_costs_what_pro_costs(interval):
    assert "Pro's price for each pack of 10 seats" in PLANS["seat-packs"].features
    for seats in (1, 10):
        assert packs_total(seats, interval) == pro_total(interval)
    assert packs_total(11, interval) == 2 * pro_total(interval)


def test_a_plan_with_pros_features_says_it_is_pro_priced_another_way():
    """A plan that gives Pro's features is Pro priced per seat, and its description says so
    first: a card never offers Pro's features for less without saying why. It claims no
    "Everything in Pro": Pro's metered API calls are Pro's alone, and it says so."""
    with_pros_features = [
        plan
        for plan in ACTIVE_PRODUCTS
        if any(f.startswith("Pro's features") for f in plan.features)
    ]

    assert [plan.slug for plan in with_pros_features] == ["team", "seat-packs"]
    for plan in with_pros_features:
        assert plan.per_seat and plan.description.startswith("Pro, "), plan.slug
        assert "API calls not billed by use" in " ".join(plan.features)
        assert not plan.usage_limits
    assert not any("Everything in Pro" in plan.features for plan in ACTIVE_PRODUCTS)


def test_the_cards_words_are_the_products_words_in_stripe():
    for plan in ACTIVE_PRODUCTS:
        product = DEMO[plan.stripe_id]
        assert (product.name, product.description) == (plan.name, plan.description)
        assert list(product.features) == plan.features
