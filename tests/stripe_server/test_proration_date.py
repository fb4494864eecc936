"""`proration_date`: an update prorates as of the moment it names, per second of the period.

Subscriptions live on test clocks, so the period is exact; every amount below is worked out
here from the seconds left in the period, not asked of the server.
"""

from __future__ import annotations

import pytest
import stripe

from tests.stripe_server.subscribers import (
    DAY,
    FEB_1_2026,
    JAN_1_2026,
    JAN_11_2026,
    graduated_seats_price,
    product_create,
    recurring_price,
    subscriber_on_clock,
)

# An odd moment on 10 January (13:17:05), before the clock's "now" of 11 January.
PRORATION_DATE = JAN_1_2026 + 9 * DAY + 13 * 3600 + 17 * 60 + 5
NOW = JAN_11_2026


def _share(total: int, proration_date: int = PRORATION_DATE) -> int:
    """Stripe's per-second proration of `total` for what is left of January."""
    return round(total * (FEB_1_2026 - proration_date) / (FEB_1_2026 - JAN_1_2026))


def _pending(sdk: stripe.StripeClient, customer: str) -> list[tuple[int, int, int]]:
    listed = sdk.v1.invoice_items.list({"customer": customer, "pending": True}).data
    return sorted((item.amount, item.period.start, item.period.end) for item in listed)


def test_an_upgrade_prorates_per_second_from_the_proration_date(
    sdk: stripe.StripeClient,
) -> None:
    product = product_create(sdk, "Prorate")
    basic, pro = recurring_price(sdk, product, 2000), recurring_price(sdk, product, 5000)
    subscription = subscriber_on_clock(sdk, basic).subscription
    item = subscription["items"].data[0]

    sdk.v1.subscriptions.update(
        subscription.id,
        {"items": [{"id": item.id, "price": pro.id}], "proration_date": PRORATION_DATE},
    )

    assert _pending(sdk, subscription.customer) == [
        (-_share(2000), PRORATION_DATE, FEB_1_2026),
        (_share(5000), PRORATION_DATE, FEB_1_2026),
    ]
    # Not the same as prorating from the clock's now: the day and a half in between counts.
    assert _share(2000) != _share(2000, NOW)


def test_a_graduated_seat_increase_prorates_the_tiered_totals(
    sdk: stripe.StripeClient,
) -> None:
    seats = graduated_seats_price(sdk, product_create(sdk, "Prorate"))
    subscription = subscriber_on_clock(sdk, seats, quantity=3).subscription
    item = subscription["items"].data[0]

    sdk.v1.subscription_items.update(
        item.id,
        {"quantity": 7, "proration_date": PRORATION_DATE, "proration_behavior": "always_invoice"},
    )

    three_seats = 3 * 1000  # all in the first tier
    seven_seats = 5 * 1000 + 2 * 800  # 6600
    after = sdk.v1.subscriptions.retrieve(subscription.id)
    invoice = sdk.v1.invoices.retrieve(after.latest_invoice)
    assert sorted(line.amount for line in invoice.lines.data) == [
        -_share(three_seats),
        _share(seven_seats),
    ]
    assert invoice.amount_paid == _share(seven_seats) - _share(three_seats)
    assert all(line.period.start == PRORATION_DATE for line in invoice.lines.data)


def test_a_package_price_prorates_its_packages(sdk: stripe.StripeClient) -> None:
    packs = sdk.v1.prices.create(
        {
            "product": product_create(sdk, "Prorate"),
            "currency": "usd",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
            "transform_quantity": {"divide_by": 5, "round": "up"},
        }
    )
    subscription = subscriber_on_clock(sdk, packs, quantity=4).subscription
    item = subscription["items"].data[0]

    sdk.v1.subscriptions.update(
        subscription.id,
        {"items": [{"id": item.id, "quantity": 11}], "proration_date": PRORATION_DATE},
    )

    # 4 seats are one package of 5; 11 seats are three.
    assert [amount for amount, _, _ in _pending(sdk, subscription.customer)] == [
        -_share(500),
        _share(1500),
    ]


@pytest.mark.parametrize(
    "proration_date", [JAN_1_2026 - 1, FEB_1_2026 + 1], ids=["before", "after"]
)
def test_a_proration_date_outside_the_period_is_refused_and_changes_nothing(
    sdk: stripe.StripeClient, proration_date: int
) -> None:
    product = product_create(sdk, "Prorate")
    basic, pro = recurring_price(sdk, product, 2000), recurring_price(sdk, product, 5000)
    subscription = subscriber_on_clock(sdk, basic).subscription
    item = subscription["items"].data[0]

    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.subscriptions.update(
            subscription.id,
            {"items": [{"id": item.id, "price": pro.id}], "proration_date": proration_date},
        )

    assert refused.value.http_status == 400
    assert refused.value.param == "proration_date"
    assert sdk.v1.subscriptions.retrieve(subscription.id)["items"].data[0].price.id == basic.id
    assert _pending(sdk, subscription.customer) == []


def test_billing_cycle_anchor_now_restarts_the_period_with_a_credit(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Prorate"), 3000)
    subscription = subscriber_on_clock(sdk, price).subscription

    reset = sdk.v1.subscriptions.update(
        subscription.id, {"billing_cycle_anchor": "now", "proration_date": PRORATION_DATE}
    )

    feb_11_2026 = NOW + 31 * DAY
    assert reset.billing_cycle_anchor == NOW
    item = reset["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (NOW, feb_11_2026)
    invoice = sdk.v1.invoices.retrieve(reset.latest_invoice)
    assert invoice.billing_reason == "subscription_update"
    assert sorted(line.amount for line in invoice.lines.data) == [-_share(3000), 3000]
    assert invoice.amount_paid == 3000 - _share(3000)
