"""Coupon maths: percent off per line, amount off spread in proportion, discounts in turn."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stripe_server.discount_amounts import (
    CouponTerms,
    LineBasis,
    discount_lines,
    percent_of,
    split_in_proportion,
)


@pytest.mark.parametrize(
    ("amount", "percent", "expected"),
    [
        (6600, "20", 1320),  # 20% of $66.00 = $13.20
        (25, "15", 4),  # 15% of 25 cents = 3.75 cents, rounded up
        (10, "25", 3),  # 2.5 cents: half rounds up
        (999, "33.33", 333),  # 332.97 cents
        (500, "100", 500),
    ],
)
def test_percent_off_rounds_half_up_to_the_minor_unit(
    amount: int, percent: str, expected: int
) -> None:
    assert percent_of(amount, Decimal(percent)) == expected


def test_an_amount_split_in_proportion_adds_up_and_gives_leftovers_to_largest_remainders() -> None:
    # $10.00 over $20, $30, $50: exactly $2, $3, $5.
    assert split_in_proportion(1000, [2000, 3000, 5000]) == [200, 300, 500]
    # 100 cents over three equal lines: 33 each, the one cent left to the first.
    assert split_in_proportion(100, [1, 1, 1]) == [34, 33, 33]
    # 7 over 1:2 -> 2.33 and 4.67: floors 2 and 4, the cent left to the larger remainder.
    assert split_in_proportion(7, [1, 2]) == [2, 5]
    assert split_in_proportion(0, [5, 5]) == [0, 0]
    assert split_in_proportion(10, [0, 0]) == [0, 0]


def test_a_percent_coupon_takes_its_share_of_each_line_it_applies_to() -> None:
    lines = [LineBasis(6600, "prod_seats"), LineBasis(1500, "prod_addon")]
    only_seats = CouponTerms(percent_off=Decimal(20), products=frozenset({"prod_seats"}))
    everything = CouponTerms(percent_off=Decimal(20))

    assert discount_lines(lines, [only_seats]) == [[1320, 0]]
    assert discount_lines(lines, [everything]) == [[1320, 300]]


def test_an_amount_coupon_is_taken_once_and_never_more_than_the_lines() -> None:
    lines = [LineBasis(3000, "a"), LineBasis(1000, "b")]
    # $10 off $30 + $10: $7.50 and $2.50.
    assert discount_lines(lines, [CouponTerms(amount_off=1000)]) == [[750, 250]]
    # $50 off $40 of lines: everything, nothing below zero.
    assert discount_lines(lines, [CouponTerms(amount_off=5000)]) == [[3000, 1000]]


def test_prorations_are_not_discounted() -> None:
    lines = [LineBasis(2000, "a"), LineBasis(-1000, "a", discountable=False)]
    assert discount_lines(lines, [CouponTerms(percent_off=Decimal(50))]) == [[1000, 0]]


def test_discounts_apply_in_turn_to_what_the_previous_left() -> None:
    lines = [LineBasis(10000, "a")]
    # 10% of $100 = $10; then $5 off the $90 left; then 50% of $85 = $42.50.
    terms = [
        CouponTerms(percent_off=Decimal(10)),
        CouponTerms(amount_off=500),
        CouponTerms(percent_off=Decimal(50)),
    ]
    assert discount_lines(lines, terms) == [[1000], [500], [4250]]
