"""Discounts on subscriptions, as Stripe applies them: on invoices and previews, for their
coupon's duration (test clocks move through the months), only to the products a coupon
applies to, with redemptions counted and refused when a coupon or code is used up, past its
date or restricted, and announced as events.

Subscriptions live on test clocks from 1 January 2026 (`subscribers.py`); every amount below
is worked out here (20% of $66.00 is $13.20), never read from the server.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import stripe

from stripe_server.testing import LocalStripe
from tests.stripe_server.conftest import WebhookReceiver
from tests.stripe_server.hosted_pages import get_document, get_page
from tests.stripe_server.subscribers import (
    DAY,
    FEB_1_2026,
    JAN_1_2026,
    JAN_11_2026,
    MAR_1_2026,
    card_customer,
    events_about,
    graduated_seats_price,
    product_create,
    recurring_price,
    subscriber_on_clock,
)

APR_1_2026 = MAR_1_2026 + 31 * DAY
BEFORE_CLOVER = "2025-08-27.basil"
BEFORE_BASIL = "2025-02-24.acacia"


def _client(local_stripe: LocalStripe, version: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        local_stripe.api_key,
        base_addresses={"api": local_stripe.api_base},
        stripe_version=version,
        max_network_retries=0,
    )


def _promotion_code(sdk: stripe.StripeClient, coupon: str, **extra: Any) -> stripe.PromotionCode:
    return sdk.v1.promotion_codes.create(
        {
            "promotion": {"type": "coupon", "coupon": coupon},
            "code": f"CODE-{uuid.uuid4().hex[:8]}",
            **extra,
        }
    )


def _invoices(sdk: stripe.StripeClient, subscription: str) -> list[stripe.Invoice]:
    """The subscription's invoices, oldest first."""
    listed = sdk.v1.invoices.list({"subscription": subscription, "limit": 100})
    return sorted(listed.data, key=lambda invoice: invoice.period_start)


def _refusal(call: Any) -> tuple[str, str | None, str | None]:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        call()
    error = refused.value.error
    return error.message, error.code, error.param


# --- how much, and on which lines -----------------------------------------------------------


def test_a_forever_percent_coupon_takes_its_share_of_every_invoice(
    sdk: stripe.StripeClient,
) -> None:
    price = graduated_seats_price(sdk, product_create(sdk, "Seats"))
    coupon = sdk.v1.coupons.create({"percent_off": 20, "duration": "forever"})

    subscriber = subscriber_on_clock(
        sdk, price, quantity=7, discounts=[{"coupon": coupon.id}], now=MAR_1_2026 + DAY
    )

    # 7 seats: 5 x $10 + 2 x $8 = $66.00; 20% of it is $13.20.
    invoices = _invoices(sdk, subscriber.subscription.id)
    assert [invoice.period_start for invoice in invoices] == [JAN_1_2026, FEB_1_2026, MAR_1_2026]
    [discount_id] = subscriber.subscription.discounts
    for invoice in invoices:
        assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (6600, 5280, 5280)
        assert invoice.discounts == [discount_id]
        assert [a.to_dict() for a in invoice.total_discount_amounts] == [
            {"amount": 1320, "discount": discount_id}
        ]
        assert [a.to_dict() for a in invoice.total_pretax_credit_amounts] == [
            {
                "amount": 1320,
                "credit_balance_transaction": None,
                "discount": discount_id,
                "type": "discount",
            }
        ]
        [line] = invoice.lines.data
        assert line.amount == 6600  # before the discount
        assert [a.to_dict() for a in line.discount_amounts] == [
            {"amount": 1320, "discount": discount_id}
        ]
        assert line.discountable is True
        assert line.discounts == []  # a subscription's discount is the invoice's, not the line's
    assert sdk.v1.coupons.retrieve(coupon.id).times_redeemed == 1


def test_the_discount_object_says_where_it_came_from_and_when_it_ends(
    sdk: stripe.StripeClient, stripe_fixtures: dict[str, Any]
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 3000)
    coupon = sdk.v1.coupons.create(
        {"percent_off": 50, "duration": "repeating", "duration_in_months": 2}
    )
    code = _promotion_code(sdk, coupon.id)

    subscriber = subscriber_on_clock(sdk, price, discounts=[{"promotion_code": code.id}])
    subscription = sdk.v1.subscriptions.retrieve(
        subscriber.subscription.id, {"expand": ["discounts", "discounts.source.coupon"]}
    )

    [discount] = subscription.discounts
    assert discount.id.startswith("di_")
    assert discount.object == "discount"
    assert discount.source.type == "coupon"
    assert discount.source.coupon.id == coupon.id
    assert discount.promotion_code == code.id
    assert discount.customer == subscriber.customer
    assert discount.subscription == subscription.id
    assert discount.start == JAN_1_2026
    assert discount.end == MAR_1_2026  # two months after it was redeemed
    assert (discount.invoice, discount.invoice_item, discount.subscription_item) == (None,) * 3
    assert set(discount.to_dict()) == set(stripe_fixtures["discount"])
    assert sdk.v1.promotion_codes.retrieve(code.id).times_redeemed == 1


def test_a_repeating_coupon_stops_after_its_months(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 3000)
    coupon = sdk.v1.coupons.create(
        {"percent_off": 50, "duration": "repeating", "duration_in_months": 2}
    )

    subscriber = subscriber_on_clock(
        sdk, price, discounts=[{"coupon": coupon.id}], now=APR_1_2026 + DAY
    )

    # Half of $30.00 in January and February; March starts as the discount ends.
    totals = [(i.period_start, i.total) for i in _invoices(sdk, subscriber.subscription.id)]
    assert totals == [
        (JAN_1_2026, 1500),
        (FEB_1_2026, 1500),
        (MAR_1_2026, 3000),
        (APR_1_2026, 3000),
    ]
    [discount_id] = subscriber.subscription.discounts
    assert sdk.v1.subscriptions.retrieve(subscriber.subscription.id).discounts == []
    [ended] = events_about(sdk, discount_id, "customer.discount.deleted")
    assert ended.created == MAR_1_2026


def test_a_once_coupon_discounts_one_invoice(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 2000)
    coupon = sdk.v1.coupons.create({"amount_off": 500, "currency": "usd", "duration": "once"})

    subscriber = subscriber_on_clock(sdk, price, discounts=[{"coupon": coupon.id}])
    [discount_id] = subscriber.subscription.discounts
    during_first_period = sdk.v1.subscriptions.retrieve(subscriber.subscription.id)
    sdk.v1.test_helpers.test_clocks.advance(subscriber.clock, {"frozen_time": FEB_1_2026 + DAY})

    totals = [(i.period_start, i.total) for i in _invoices(sdk, subscriber.subscription.id)]
    assert totals == [(JAN_1_2026, 2000 - 500), (FEB_1_2026, 2000)]
    # It stays on the subscription until the next invoice, which removes it.
    assert during_first_period.discounts == [discount_id]
    assert sdk.v1.subscriptions.retrieve(subscriber.subscription.id).discounts == []
    assert events_about(sdk, discount_id, "customer.discount.deleted")


def test_a_once_coupon_waits_for_the_first_invoice_after_a_free_trial(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 2000)
    coupon = sdk.v1.coupons.create({"percent_off": 25, "duration": "once"})

    subscriber = subscriber_on_clock(
        sdk,
        price,
        discounts=[{"coupon": coupon.id}],
        trial_period_days=14,
        now=FEB_1_2026 + 16 * DAY,
    )

    # The trial's $0 invoice uses nothing; 25% of $20.00 comes off when the trial ends.
    trial_end = JAN_1_2026 + 14 * DAY
    totals = [(i.period_start, i.total) for i in _invoices(sdk, subscriber.subscription.id)]
    assert totals == [(JAN_1_2026, 0), (trial_end, 1500), (FEB_1_2026 + 14 * DAY, 2000)]


def test_the_hosted_invoice_and_its_pdf_show_the_discount(sdk: stripe.StripeClient) -> None:
    price = graduated_seats_price(sdk, product_create(sdk, "Seats"))
    coupon = sdk.v1.coupons.create({"percent_off": 20, "name": "Spring", "duration": "once"})
    subscription = sdk.v1.subscriptions.create(
        {"customer": card_customer(sdk).id, "items": [{"price": price.id, "quantity": 7}],
         "discounts": [{"coupon": coupon.id}], "expand": ["latest_invoice"]}
    )  # fmt: skip
    invoice = subscription.latest_invoice

    page = get_page(invoice.hosted_invoice_url).text
    _, _, pdf = get_document(invoice.invoice_pdf)

    assert "Spring (20% off)" in page
    assert "-$13.20" in page
    assert 'id="total">$52.80<' in page
    assert rb"(Spring \(20% off\))" in pdf  # a PDF string escapes its parentheses


def test_a_coupon_applies_only_to_the_products_it_names(sdk: stripe.StripeClient) -> None:
    seats = product_create(sdk, "Seats")
    support = product_create(sdk, "Support")
    seat_price = graduated_seats_price(sdk, seats)
    support_price = recurring_price(sdk, support, 1500)
    coupon = sdk.v1.coupons.create({"percent_off": 20, "applies_to": {"products": [seats]}})
    customer = card_customer(sdk)

    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [
                {"price": seat_price.id, "quantity": 7},
                {"price": support_price.id, "quantity": 1},
            ],
            "discounts": [{"coupon": coupon.id}],
            "expand": ["latest_invoice"],
        }
    )

    invoice = subscription.latest_invoice
    taken = {line.pricing.price_details.product: line.discount_amounts[0].amount
             for line in invoice.lines.data}  # fmt: skip
    assert taken == {seats: 1320, support: 0}  # 20% of $66.00; support is not discounted
    assert (invoice.subtotal, invoice.total) == (6600 + 1500, 6600 + 1500 - 1320)


def test_an_amount_off_is_spread_over_the_lines_in_proportion(sdk: stripe.StripeClient) -> None:
    plan, extra = product_create(sdk, "Plan"), product_create(sdk, "Extra")
    coupon = sdk.v1.coupons.create({"amount_off": 1000, "currency": "usd", "duration": "once"})
    customer = card_customer(sdk)

    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [
                {"price": recurring_price(sdk, plan, 3000).id},
                {"price": recurring_price(sdk, extra, 1000).id},
            ],
            "discounts": [{"coupon": coupon.id}],
            "expand": ["latest_invoice"],
        }
    )

    # $10 off $30 + $10: three quarters and one quarter.
    invoice = subscription.latest_invoice
    taken = {line.amount: line.discount_amounts[0].amount for line in invoice.lines.data}
    assert taken == {3000: 750, 1000: 250}
    assert invoice.total == 4000 - 1000


def test_an_amount_off_larger_than_the_invoice_leaves_nothing_to_pay(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 1200)
    coupon = sdk.v1.coupons.create({"amount_off": 5000, "currency": "usd", "duration": "once"})

    subscription = sdk.v1.subscriptions.create(
        {
            "customer": card_customer(sdk).id,
            "items": [{"price": price.id}],
            "discounts": [{"coupon": coupon.id}],
            "expand": ["latest_invoice"],
        }
    )

    invoice = subscription.latest_invoice
    assert (invoice.total, invoice.amount_due, invoice.status) == (0, 0, "paid")
    assert invoice.total_discount_amounts[0].amount == 1200  # never below zero
    assert subscription.status == "active"


def test_an_amount_off_that_never_ends_is_refused_from_basil_on(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 2000)
    forever = {"amount_off": 500, "currency": "usd", "duration": "forever"}

    refused_today = _refusal(lambda: sdk.v1.coupons.create(forever))
    # Made with a version from before basil, it exists, but is not applied today.
    old = _client(local_stripe, BEFORE_BASIL).v1.coupons.create(forever)
    applied = _refusal(
        lambda: sdk.v1.subscriptions.create(
            {"customer": card_customer(sdk).id, "items": [{"price": price.id}],
             "discounts": [{"coupon": old.id}]}
        )
    )  # fmt: skip

    assert refused_today[2] == "duration"
    assert old.duration == "forever"
    assert applied[2] == "discounts[0][coupon]"


def _package_price(sdk: stripe.StripeClient, product: str) -> stripe.Price:
    """$25.00 per package of 10 seats, a started package billed whole."""
    return sdk.v1.prices.create(
        {
            "product": product,
            "currency": "usd",
            "unit_amount": 2500,
            "transform_quantity": {"divide_by": 10, "round": "up"},
            "recurring": {"interval": "month"},
        }
    )


@pytest.mark.parametrize(
    ("kind", "quantity", "before"),
    [
        ("graduated", 1, 1 * 1000),
        ("graduated", 5, 5 * 1000),
        ("graduated", 7, 5 * 1000 + 2 * 800),
        ("graduated", 12, 5 * 1000 + 7 * 800),
        ("package", 1, 1 * 2500),
        ("package", 10, 1 * 2500),
        ("package", 11, 2 * 2500),
        ("package", 25, 3 * 2500),
    ],
)
def test_tiered_and_package_prices_are_discounted_on_what_they_cost(
    sdk: stripe.StripeClient, kind: str, quantity: int, before: int
) -> None:
    product = product_create(sdk, "Priced")
    price = (
        graduated_seats_price(sdk, product) if kind == "graduated" else _package_price(sdk, product)
    )
    coupon = sdk.v1.coupons.create({"percent_off": 15, "duration": "forever"})

    subscription = sdk.v1.subscriptions.create(
        {
            "customer": card_customer(sdk).id,
            "items": [{"price": price.id, "quantity": quantity}],
            "discounts": [{"coupon": coupon.id}],
            "expand": ["latest_invoice"],
        }
    )

    # 15% of the price's cost, rounded half up to the cent: (before x 15 + 50) // 100.
    discount = (before * 15 + 50) // 100
    invoice = subscription.latest_invoice
    assert (invoice.subtotal, invoice.total) == (before, before - discount)


def test_a_discount_goes_on_applying_after_its_coupon_is_deleted(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 4000)
    coupon = sdk.v1.coupons.create({"percent_off": 10, "duration": "forever"})
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": JAN_1_2026})
    customer = card_customer(sdk, test_clock=clock.id)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}],
         "discounts": [{"coupon": coupon.id}]}
    )  # fmt: skip

    sdk.v1.coupons.delete(coupon.id)
    sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": FEB_1_2026 + DAY})

    # 10% of $40.00 off February too.
    assert [i.total for i in _invoices(sdk, subscription.id)] == [3600, 3600]


# --- changing a subscription's discounts ----------------------------------------------------


def test_a_coupon_added_to_a_subscription_discounts_its_next_invoice(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 5000)
    subscriber = subscriber_on_clock(sdk, price)
    coupon = sdk.v1.coupons.create({"percent_off": 10, "duration": "forever"})

    updated = sdk.v1.subscriptions.update(
        subscriber.subscription.id, {"discounts": [{"coupon": coupon.id}]}
    )
    sdk.v1.test_helpers.test_clocks.advance(subscriber.clock, {"frozen_time": FEB_1_2026 + DAY})

    [discount_id] = updated.discounts
    assert [i.total for i in _invoices(sdk, updated.id)] == [5000, 5000 - 500]
    [created] = events_about(sdk, discount_id, "customer.discount.created")
    assert created.data.object.source.coupon == coupon.id
    assert created.created == JAN_11_2026
    change = next(
        e
        for e in events_about(sdk, updated.id, "customer.subscription.updated")
        if "discounts" in (e.data.get("previous_attributes") or {})
    )
    assert change.data.previous_attributes.discounts == []


def test_replacing_keeping_and_clearing_discounts(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 5000)
    subscriber = subscriber_on_clock(sdk, price)
    ten = sdk.v1.coupons.create({"percent_off": 10, "duration": "forever"})
    twenty = sdk.v1.coupons.create({"percent_off": 20, "duration": "forever"})
    five_off = sdk.v1.coupons.create(
        {"amount_off": 500, "currency": "usd", "duration": "repeating", "duration_in_months": 6}
    )
    subscription_id = subscriber.subscription.id

    [first] = sdk.v1.subscriptions.update(
        subscription_id, {"discounts": [{"coupon": ten.id}]}
    ).discounts
    [second] = sdk.v1.subscriptions.update(
        subscription_id, {"discounts": [{"coupon": twenty.id}]}
    ).discounts
    kept = sdk.v1.subscriptions.update(
        subscription_id, {"discounts": [{"discount": second}, {"coupon": five_off.id}]}
    ).discounts
    preview = sdk.v1.invoices.create_preview({"subscription": subscription_id})
    cleared = sdk.v1.subscriptions.update(subscription_id, {"discounts": ""})

    # One coupon switched for another is an update of the customer's discount.
    [switched] = events_about(sdk, second, "customer.discount.updated")
    assert switched.data.previous_attributes.id == first
    assert switched.data.previous_attributes.source.coupon == ten.id
    assert kept[0] == second and len(kept) == 2
    # 20% of $50.00 is $10.00, then $5.00 off the $40.00 left.
    assert preview.total == 5000 - 1000 - 500
    assert cleared.discounts == []
    for removed in (second, kept[1]):
        assert events_about(sdk, removed, "customer.discount.deleted"), removed
    unknown = _refusal(
        lambda: sdk.v1.subscriptions.update(
            subscription_id, {"discounts": [{"discount": "di_notOnThisSubscription"}]}
        )
    )
    assert unknown[2] == "discounts[0][discount]"


# --- redemptions refused --------------------------------------------------------------------


def test_a_coupon_used_up_is_refused(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 1000)
    coupon = sdk.v1.coupons.create({"percent_off": 10, "max_redemptions": 1})
    params = {"items": [{"price": price.id}], "discounts": [{"coupon": coupon.id}]}

    sdk.v1.subscriptions.create({"customer": card_customer(sdk).id, **params})
    refused = _refusal(
        lambda: sdk.v1.subscriptions.create({"customer": card_customer(sdk).id, **params})
    )

    assert refused == (f"Coupon expired: {coupon.id}", "coupon_expired", "discounts[0][coupon]")
    used = sdk.v1.coupons.retrieve(coupon.id)
    assert (used.times_redeemed, used.valid) == (1, False)


def test_a_coupon_past_its_redeem_by_is_refused(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 1000)
    now = int(local_stripe.admin("GET", "/_local/clock")["now"])
    coupon = sdk.v1.coupons.create({"percent_off": 10, "redeem_by": now + DAY})
    # A customer whose test clock is past the coupon's last day.
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": now + 2 * DAY})
    late = card_customer(sdk, test_clock=clock.id)

    refused = _refusal(
        lambda: sdk.v1.subscriptions.create(
            {"customer": late.id, "items": [{"price": price.id}],
             "discounts": [{"coupon": coupon.id}]}
        )
    )  # fmt: skip

    assert refused[1:] == ("coupon_expired", "discounts[0][coupon]")
    assert sdk.v1.coupons.retrieve(coupon.id).valid is True  # still valid at the server's now


def test_a_promotion_code_is_refused_for_each_of_its_restrictions(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    cheap = recurring_price(sdk, product_create(sdk, "Cheap"), 1000)
    coupon = sdk.v1.coupons.create({"percent_off": 10, "duration": "forever"})
    now = int(local_stripe.admin("GET", "/_local/clock")["now"])
    someone = card_customer(sdk)
    paying = card_customer(sdk)
    sdk.v1.subscriptions.create({"customer": paying.id, "items": [{"price": cheap.id}]})
    codes = {
        "used up": _promotion_code(sdk, coupon.id, max_redemptions=1),
        "expired": _promotion_code(sdk, coupon.id, expires_at=now + DAY),
        "inactive": _promotion_code(sdk, coupon.id, active=False),
        "someone else's": _promotion_code(sdk, coupon.id, customer=someone.id),
        "first time": _promotion_code(
            sdk, coupon.id, restrictions={"first_time_transaction": True}
        ),
        "minimum": _promotion_code(
            sdk,
            coupon.id,
            restrictions={"minimum_amount": 5000, "minimum_amount_currency": "usd"},
        ),
    }
    sdk.v1.subscriptions.create(
        {"customer": card_customer(sdk).id, "items": [{"price": cheap.id}],
         "discounts": [{"promotion_code": codes["used up"].id}]}
    )  # fmt: skip
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": now + 2 * DAY})
    later = card_customer(sdk, test_clock=clock.id)

    def refused(code: str, customer: str) -> str:
        message, _, param = _refusal(
            lambda: sdk.v1.subscriptions.create(
                {"customer": customer, "items": [{"price": cheap.id}],
                 "discounts": [{"promotion_code": codes[code].id}]}
            )
        )  # fmt: skip
        assert param == "discounts[0][promotion_code]"
        return message

    cannot = "This promotion code cannot be redeemed"
    assert refused("used up", paying.id) == (
        f"{cannot} because it has been used the maximum number of times."
    )
    assert refused("expired", later.id) == f"{cannot} because it has expired."
    assert refused("inactive", paying.id) == f"{cannot} because it is inactive."
    assert refused("someone else's", paying.id) == (
        f"{cannot} because it is restricted to another customer."
    )
    assert refused("first time", paying.id) == (
        f"{cannot} because the associated customer has prior transactions."
    )
    assert refused("minimum", paying.id) == (
        f"{cannot} because the purchase does not reach its minimum amount."
    )
    # On an update, a minimum amount cannot be checked at all.
    subscription = sdk.v1.subscriptions.list({"customer": paying.id}).data[0]
    message, _, _ = _refusal(
        lambda: sdk.v1.subscriptions.update(
            subscription.id, {"discounts": [{"promotion_code": codes["minimum"].id}]}
        )
    )
    assert message == (
        f"{cannot} on a subscription update because it uses the `minimum_amount` restriction "
        "and the amount may change."
    )
    # Each of them works where its restriction is met.
    fine = sdk.v1.subscriptions.create(
        {"customer": someone.id, "items": [{"price": cheap.id}],
         "discounts": [{"promotion_code": codes["someone else's"].id}]}
    )  # fmt: skip
    assert len(fine.discounts) == 1


# --- previews -------------------------------------------------------------------------------


def test_a_new_subscriptions_preview_shows_the_code_without_redeeming_it(
    sdk: stripe.StripeClient,
) -> None:
    price = graduated_seats_price(sdk, product_create(sdk, "Seats"))
    coupon = sdk.v1.coupons.create({"percent_off": 20, "duration": "forever"})
    code = _promotion_code(sdk, coupon.id, max_redemptions=1)
    customer = card_customer(sdk)

    preview = sdk.v1.invoices.create_preview(
        {
            "customer": customer.id,
            "subscription_details": {"items": [{"price": price.id, "quantity": 7}]},
            "discounts": [{"promotion_code": code.id}],
            "expand": ["discounts"],
        }
    )

    assert (preview.subtotal, preview.total) == (6600, 6600 - 1320)
    [discount] = preview.discounts
    assert discount.promotion_code == code.id
    assert preview.lines.data[0].discount_amounts[0].amount == 1320
    assert sdk.v1.promotion_codes.retrieve(code.id).times_redeemed == 0
    assert sdk.v1.subscriptions.list({"customer": customer.id}).data == []


def test_a_preview_shows_the_next_invoice_with_the_discounts_it_will_have(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 3000)
    coupon = sdk.v1.coupons.create(
        {"percent_off": 50, "duration": "repeating", "duration_in_months": 1}
    )
    subscriber = subscriber_on_clock(sdk, price, discounts=[{"coupon": coupon.id}])
    other = sdk.v1.coupons.create({"amount_off": 700, "currency": "usd", "duration": "once"})

    # The one-month coupon ends on 1 February, as the next invoice starts.
    kept = sdk.v1.invoices.create_preview({"subscription": subscriber.subscription.id})
    swapped = sdk.v1.invoices.create_preview(
        {"subscription": subscriber.subscription.id, "discounts": [{"coupon": other.id}]}
    )
    none = sdk.v1.invoices.create_preview(
        {"subscription": subscriber.subscription.id, "discounts": ""}
    )

    assert (kept.period_start, kept.total, kept.discounts) == (FEB_1_2026, 3000, [])
    assert swapped.total == 3000 - 700
    assert none.total == 3000
    assert sdk.v1.coupons.retrieve(other.id).times_redeemed == 0
    assert len(sdk.v1.subscriptions.retrieve(subscriber.subscription.id).discounts) == 1


def test_prorations_are_net_of_a_percent_discount_and_name_it(sdk: stripe.StripeClient) -> None:
    product = product_create(sdk, "Plan")
    basic, pro = recurring_price(sdk, product, 2000), recurring_price(sdk, product, 5000)
    coupon = sdk.v1.coupons.create({"percent_off": 20, "duration": "forever"})
    subscriber = subscriber_on_clock(sdk, basic, discounts=[{"coupon": coupon.id}])
    [discount_id] = subscriber.subscription.discounts
    item = subscriber.subscription["items"].data[0].id

    preview = sdk.v1.invoices.create_preview(
        {
            "subscription": subscriber.subscription.id,
            "subscription_details": {
                "items": [{"id": item, "price": pro.id}],
                "proration_behavior": "always_invoice",
                "proration_date": JAN_11_2026,
            },
        }
    )

    # 21 of January's 31 days are left; the prices after 20% off are $16.00 and $40.00.
    def share(total: int) -> int:
        return round(total * (FEB_1_2026 - JAN_11_2026) / (FEB_1_2026 - JAN_1_2026))

    lines = sorted(preview.lines.data, key=lambda line: line.amount)
    assert [line.amount for line in lines] == [-share(1600), share(4000)]
    for line in lines:
        assert line.discountable is False
        assert line.discounts == [discount_id]
        assert [a.to_dict() for a in line.discount_amounts] == [
            {"amount": 0, "discount": discount_id}
        ]
    assert preview.total == share(4000) - share(1600)
    assert preview.total_discount_amounts[0].amount == 0


# --- shapes by API version ------------------------------------------------------------------


def test_before_clover_a_discount_shows_its_whole_coupon(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 1000)
    coupon = sdk.v1.coupons.create({"percent_off": 10, "duration": "forever", "name": "Ten"})
    subscription = sdk.v1.subscriptions.create(
        {"customer": card_customer(sdk).id, "items": [{"price": price.id}],
         "discounts": [{"coupon": coupon.id}]}
    )  # fmt: skip

    basil = _client(local_stripe, BEFORE_CLOVER).v1.subscriptions.retrieve(
        subscription.id, {"expand": ["discounts"]}
    )
    acacia = _client(local_stripe, BEFORE_BASIL).v1.subscriptions.retrieve(subscription.id)
    acacia_invoice = _client(local_stripe, BEFORE_BASIL).v1.invoices.retrieve(
        subscription.latest_invoice
    )

    [discount] = basil.discounts
    assert "source" not in discount
    assert (discount.coupon.id, discount.coupon.name) == (coupon.id, "Ten")
    # Before basil, the one discount was also the subscription's and the invoice's `discount`.
    assert acacia.discount.id == discount.id
    assert acacia.discount.coupon.percent_off == 10
    assert acacia_invoice.discount.id == discount.id


def test_discount_events_reach_an_endpoint_in_its_own_version(
    sdk: stripe.StripeClient, webhook_receiver: WebhookReceiver
) -> None:
    endpoint = sdk.v1.webhook_endpoints.create(
        {"url": webhook_receiver.url, "enabled_events": ["customer.discount.created"],
         "api_version": BEFORE_CLOVER}
    )  # fmt: skip
    try:
        price = recurring_price(sdk, product_create(sdk, "Plan"), 1000)
        coupon = sdk.v1.coupons.create({"percent_off": 10, "duration": "forever"})
        subscription = sdk.v1.subscriptions.create(
            {"customer": card_customer(sdk).id, "items": [{"price": price.id}],
             "discounts": [{"coupon": coupon.id}]}
        )  # fmt: skip
        [discount_id] = subscription.discounts

        events = webhook_receiver.wait_for(
            lambda got: any(e["data"]["object"]["id"] == discount_id for e in got)
        )
    finally:
        sdk.v1.webhook_endpoints.delete(endpoint.id)

    event = next(e for e in events if e["data"]["object"]["id"] == discount_id)
    assert event["api_version"] == BEFORE_CLOVER
    assert "source" not in event["data"]["object"]
    assert event["data"]["object"]["coupon"]["id"] == coupon.id
    today = events_about(sdk, discount_id, "customer.discount.created")[0]
    assert today.data.object.source.coupon == coupon.id
