"""MRR maths: every figure checked against arithmetic written out here, not the module's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from accounts.billing.revenue_maths import (
    Movement,
    MovementKind,
    MovementTotals,
    RevenueDiscount,
    RevenueItem,
    RevenueSubscription,
    SubscriptionRevenue,
    annual_run_rate,
    average_revenue_per_user,
    monthly_amount,
    movement_totals,
    mrr_figures,
    mrr_movements,
    period_amount,
    round_half_up,
    subscription_mrr,
    trial_outcomes,
)
from pricing.price_maths import CouponTerms, PriceTerms, Tier

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def per_unit(cents: int, *, interval: str = "month", count: int = 1, currency: str = "usd"):
    return PriceTerms(
        currency=currency, unit_amount=Decimal(cents), interval=interval, interval_count=count
    )


GRADUATED = PriceTerms(
    currency="usd",
    billing_scheme="tiered",
    tiers_mode="graduated",
    tiers=(Tier(up_to=5, unit_amount=Decimal(1000)), Tier(up_to=None, unit_amount=Decimal(800))),
    interval="month",
)
VOLUME = PriceTerms(
    currency="usd",
    billing_scheme="tiered",
    tiers_mode="volume",
    tiers=(Tier(up_to=5, unit_amount=Decimal(1000)), Tier(up_to=None, unit_amount=Decimal(800))),
    interval="month",
)


def package(*, rounding: str) -> PriceTerms:
    return PriceTerms(
        currency="usd",
        unit_amount=Decimal(5000),
        divide_by=10,
        round=rounding,  # type: ignore[arg-type]
        interval="month",
    )


def subscription(*items: RevenueItem, status: str = "active", **extra) -> RevenueSubscription:
    return RevenueSubscription(id="sub_1", status=status, items=items, **extra)


def item(terms: PriceTerms, quantity: int = 1, product: str = "prod_a", **extra) -> RevenueItem:
    return RevenueItem(terms=terms, quantity=quantity, product_id=product, **extra)


def percent(value: str, duration: str = "forever", products=None) -> CouponTerms:
    return CouponTerms(id="c", percent_off=Decimal(value), duration=duration, product_ids=products)  # type: ignore[arg-type]


def amount_off(cents: int, currency: str = "usd", duration: str = "forever", products=None):
    return CouponTerms(
        id="c", amount_off=cents, currency=currency, duration=duration, product_ids=products
    )  # type: ignore[arg-type]


# --- One subscription -----------------------------------------------------------------------------


def test_a_monthly_per_unit_subscription_is_its_price_times_its_seats() -> None:
    assert subscription_mrr(subscription=subscription(item(per_unit(1500), 3)), at=NOW) == 4500


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        (per_unit(50000, interval="year"), 4167),  # 500.00 / 12 = 41.6666... -> 41.67
        (per_unit(9000, interval="month", count=3), 3000),  # a quarter: 90.00 / 3
        (per_unit(1000, interval="week"), 4333),  # 10.00 x 52 / 12 = 43.333...
        (per_unit(100, interval="day"), 3042),  # 1.00 x 365 / 12 = 30.4166...
        (per_unit(60000, interval="year", count=2), 2500),  # 600.00 / 24
    ],
)
def test_other_intervals_are_brought_to_a_month_and_rounded_half_up(terms, expected) -> None:
    assert subscription_mrr(subscription=subscription(item(terms)), at=NOW) == expected


def test_a_half_cent_rounds_up() -> None:
    # 6 / 12 = 0.5 cents -> 1; 18 / 12 = 1.5 -> 2
    assert monthly_amount(amount=6, interval="year") == 1
    assert monthly_amount(amount=18, interval="year") == 2
    assert round_half_up(Fraction(-5, 2)) == -3


def test_tiered_prices_count_at_their_quantity() -> None:
    # Graduated: 5 x 10.00 + 2 x 8.00 = 66.00. Volume: 7 x 8.00 = 56.00.
    assert subscription_mrr(subscription=subscription(item(GRADUATED, 7)), at=NOW) == 6600
    assert subscription_mrr(subscription=subscription(item(VOLUME, 7)), at=NOW) == 5600


def test_packages_are_rounded_as_the_price_says() -> None:
    # 23 seats in packs of 10 at 50.00: 3 packs up (150.00), 2 down (100.00).
    up = subscription(item(package(rounding="up"), 23))
    down = subscription(item(package(rounding="down"), 23))
    assert subscription_mrr(subscription=up, at=NOW) == 15000
    assert subscription_mrr(subscription=down, at=NOW) == 10000


def test_several_items_add_up() -> None:
    both = subscription(item(per_unit(2000)), item(per_unit(500), 4, product="prod_b"))
    assert subscription_mrr(subscription=both, at=NOW) == 2000 + 4 * 500


def test_a_metered_item_is_not_recurring_revenue() -> None:
    metered = PriceTerms(
        currency="usd", unit_amount=Decimal(7), interval="month", usage_type="metered"
    )
    both = subscription(item(per_unit(2000)), item(metered, 1000))
    assert subscription_mrr(subscription=both, at=NOW) == 2000


# --- Discounts ------------------------------------------------------------------------------------


def test_a_repeating_percent_off_counts_from_its_start_until_its_end() -> None:
    discount = RevenueDiscount(
        coupon=percent("20", "repeating"), start=NOW - 10 * DAY, end=NOW + 80 * DAY
    )
    discounted = subscription(item(per_unit(3000)), discount=discount)

    assert subscription_mrr(subscription=discounted, at=NOW) == 2400  # 30.00 - 6.00
    assert subscription_mrr(subscription=discounted, at=NOW + 80 * DAY) == 3000
    assert subscription_mrr(subscription=discounted, at=NOW - 11 * DAY) == 3000


def test_a_forever_discount_always_counts_and_a_once_coupon_never() -> None:
    forever = subscription(item(per_unit(3000)), discount=RevenueDiscount(percent("25")))
    once = subscription(
        item(per_unit(3000)), discount=RevenueDiscount(amount_off(1000, duration="once"))
    )

    assert subscription_mrr(subscription=forever, at=NOW) == 2250
    assert subscription_mrr(subscription=once, at=NOW) == 3000


def test_a_percent_off_is_rounded_line_by_line() -> None:
    # Three 5-cent lines at 10% off: 0.5 cents off each, rounded to 1 cent each = 3 cents off
    # (12 left); rounding the total's 1.5 cents once would leave 13.
    lines = [item(per_unit(5), product=f"prod_{n}") for n in range(3)]
    discounted = subscription(*lines, discount=RevenueDiscount(percent("10")))
    assert period_amount(subscription=discounted, at=NOW) == 12


def test_a_percent_off_only_takes_from_the_products_it_applies_to() -> None:
    coupon = percent("50", products=frozenset({"prod_b"}))
    both = subscription(
        item(per_unit(2000)),
        item(per_unit(1000), product="prod_b"),
        discount=RevenueDiscount(coupon),
    )
    assert subscription_mrr(subscription=both, at=NOW) == 2000 + 500


def test_an_amount_off_is_taken_once_per_invoice_and_brought_to_a_month() -> None:
    yearly = subscription(
        item(per_unit(50000, interval="year")),
        discount=RevenueDiscount(amount_off(1000, duration="repeating"), end=NOW + DAY),
    )
    # (500.00 - 10.00) / 12 = 40.8333... -> 40.83
    assert subscription_mrr(subscription=yearly, at=NOW) == 4083


def test_an_amount_off_is_capped_at_the_lines_it_applies_to_and_needs_their_currency() -> None:
    capped = subscription(
        item(per_unit(2000)),
        item(per_unit(300), product="prod_b"),
        discount=RevenueDiscount(amount_off(1000, products=frozenset({"prod_b"}))),
    )
    euros = subscription(item(per_unit(2000)), discount=RevenueDiscount(amount_off(500, "eur")))

    assert subscription_mrr(subscription=capped, at=NOW) == 2000  # 3.00 off, not 10.00
    assert subscription_mrr(subscription=euros, at=NOW) == 2000


# --- Which subscriptions count ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("active", 1500),
        ("past_due", 1500),
        ("trialing", 0),
        ("paused", 0),
        ("canceled", 0),
        ("incomplete", 0),
        ("incomplete_expired", 0),
        ("unpaid", 0),
    ],
)
def test_active_and_past_due_subscriptions_count_and_the_others_do_not(status, expected) -> None:
    counted = subscription(item(per_unit(1500)), status=status)
    assert subscription_mrr(subscription=counted, at=NOW) == expected


def test_a_subscription_set_to_cancel_counts_until_it_ends() -> None:
    canceling = subscription(item(per_unit(1500)), ends_at=NOW + DAY)

    assert subscription_mrr(subscription=canceling, at=NOW) == 1500
    assert subscription_mrr(subscription=canceling, at=NOW + DAY) == 0


def test_an_unknown_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown billing interval"):
        monthly_amount(amount=100, interval="fortnight")


# --- Many subscriptions ---------------------------------------------------------------------------


def test_figures_are_per_currency_with_paying_subscribers_and_plans() -> None:
    revenues = [
        SubscriptionRevenue("sub_a", "usd", 6600, "active", "prod_team"),
        SubscriptionRevenue("sub_b", "usd", 4167, "active", "prod_pro"),
        SubscriptionRevenue("sub_c", "usd", 1500, "past_due", "prod_team"),
        SubscriptionRevenue("sub_d", "eur", 2000, "active", "prod_pro"),
        SubscriptionRevenue("sub_e", "usd", 0, "trialing", "prod_pro"),
    ]

    figures = mrr_figures(revenues)

    assert set(figures) == {"usd", "eur"}
    assert figures["usd"].mrr == 6600 + 4167 + 1500
    assert figures["usd"].subscribers == 3
    assert figures["usd"].by_plan == {"prod_team": 6600 + 1500, "prod_pro": 4167}
    assert (figures["eur"].mrr, figures["eur"].subscribers) == (2000, 1)
    assert figures["usd"].arr == 12267 * 12
    assert figures["usd"].arpu == 4089  # 122.67 / 3 = 40.89


def test_arr_and_arpu() -> None:
    assert annual_run_rate(mrr=35667) == 428004
    assert average_revenue_per_user(mrr=35667, subscribers=7) == 5095  # 50.952...
    assert average_revenue_per_user(mrr=10, subscribers=4) == 3  # 2.5 -> 3
    assert average_revenue_per_user(mrr=0, subscribers=0) is None


# --- Movements ------------------------------------------------------------------------------------


def test_each_subscription_moves_new_expansion_contraction_or_churn() -> None:
    before = {"sub_up": ("usd", 1000), "sub_down": ("usd", 5000), "sub_gone": ("usd", 700)}
    before |= {"sub_same": ("usd", 300)}
    after = {"sub_up": ("usd", 1600), "sub_down": ("usd", 2000), "sub_same": ("usd", 300)}
    after |= {"sub_new": ("usd", 1200)}

    movements = mrr_movements(before=before, after=after)

    assert movements == [
        Movement("sub_down", MovementKind.CONTRACTION, "usd", 3000, 5000, 2000),
        Movement("sub_gone", MovementKind.CHURN, "usd", 700, 700, 0),
        Movement("sub_new", MovementKind.NEW, "usd", 1200, 0, 1200),
        Movement("sub_up", MovementKind.EXPANSION, "usd", 600, 1000, 1600),
    ]
    totals = movement_totals(movements)["usd"]
    assert (totals.new, totals.expansion, totals.contraction, totals.churn) == (
        1200,
        600,
        3000,
        700,
    )
    # The books balance: MRR before + net = MRR after.
    assert (1000 + 5000 + 700 + 300) + totals.net == 1600 + 2000 + 300 + 1200


def test_a_change_of_currency_churns_in_one_and_is_new_in_the_other() -> None:
    movements = mrr_movements(before={"sub": ("usd", 1000)}, after={"sub": ("eur", 900)})

    assert movements == [
        Movement("sub", MovementKind.CHURN, "usd", 1000, 1000, 0),
        Movement("sub", MovementKind.NEW, "eur", 900, 0, 900),
    ]


def test_movement_totals_add_up() -> None:
    month = MovementTotals()
    month.add(MovementTotals(new=100, churn=30))
    month.add(MovementTotals(expansion=5, contraction=20))
    assert (month.new, month.expansion, month.contraction, month.churn, month.net) == (
        100,
        5,
        20,
        30,
        55,
    )


# --- Trials ---------------------------------------------------------------------------------------


def trial(status: str, *, ended_days_ago: int, canceled_days_ago: int | None = None):
    trial_end = NOW - ended_days_ago * DAY
    return RevenueSubscription(
        id=f"sub_{status}_{ended_days_ago}",
        status=status,
        trial_start=trial_end - 14 * DAY,
        trial_end=trial_end,
        ended_at=None if canceled_days_ago is None else NOW - canceled_days_ago * DAY,
    )


def test_trials_running_and_trial_to_paid_over_the_last_90_days() -> None:
    outcomes = trial_outcomes(
        [
            trial("trialing", ended_days_ago=-5),  # running
            trial("active", ended_days_ago=10),  # converted
            trial("past_due", ended_days_ago=20),  # went on (past due counts, as in MRR)
            trial("canceled", ended_days_ago=30, canceled_days_ago=5),  # converted, left later
            trial("canceled", ended_days_ago=40, canceled_days_ago=40),  # ended without a card
            trial("paused", ended_days_ago=50),  # ended without a card
            trial("canceled", ended_days_ago=-3, canceled_days_ago=2),  # canceled in its trial
            trial("active", ended_days_ago=120),  # outside the window
            RevenueSubscription(id="sub_no_trial", status="active"),
        ],
        at=NOW,
    )

    assert (outcomes.running, outcomes.ended, outcomes.converted) == (1, 6, 3)
    assert outcomes.rate == Fraction(3, 6)
