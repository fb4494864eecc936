"""Discounts in Checkout: the hosted page's promotion code field (applied, refused with
Checkout's message for each reason, removed), discounts pre-applied with `discounts`, and the
completed session, its subscription and invoice carrying the discount. Amounts are worked out
here (20% of $66.00 is $13.20)."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
import stripe

from stripe_server.testing import LocalStripe
from tests.stripe_server.hosted_pages import get_page, post_form
from tests.stripe_server.subscribers import (
    DAY,
    card_customer,
    graduated_seats_price,
    product_create,
    recurring_price,
)

SUCCESS = "http://127.0.0.1:9/billing/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://127.0.0.1:9/pricing"
VISA = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"}


def _email() -> str:
    return f"buyer-{uuid.uuid4().hex[:10]}@example.com"


def _code(sdk: stripe.StripeClient, coupon: str, **extra: Any) -> stripe.PromotionCode:
    return sdk.v1.promotion_codes.create(
        {
            "promotion": {"type": "coupon", "coupon": coupon},
            "code": f"SAVE-{uuid.uuid4().hex[:8].upper()}",
            **extra,
        }
    )


def _session(sdk: stripe.StripeClient, price: str, quantity: int = 1, **extra: Any) -> Any:
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": price, "quantity": quantity}],
        "success_url": SUCCESS,
        "cancel_url": CANCEL,
        **extra,
    }
    if "customer" not in params:
        params["customer_email"] = _email()
    return sdk.v1.checkout.sessions.create(params)


def _apply(session: Any, code: str) -> Any:
    return post_form(f"{session.url}/promotion_code", {"promotion_code": code})


def _error_of(page_text: str) -> str:
    """The promotion code field's error, shown after the field."""
    found = re.search(r'id="promotion_code-error">(.*?)</p>', page_text, re.S)
    assert found is not None, page_text
    return html.unescape(found.group(1))


@pytest.fixture
def seats(sdk: stripe.StripeClient) -> stripe.Price:
    """$10 a seat for the first 5, then $8: 7 seats cost $66.00."""
    return graduated_seats_price(sdk, product_create(sdk, "Seats"))


def test_a_code_typed_on_the_page_discounts_the_total_and_the_subscription(
    sdk: stripe.StripeClient, seats: stripe.Price
) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 20, "duration": "forever"})
    code = _code(sdk, coupon.id)
    session = _session(sdk, seats.id, 7, allow_promotion_codes=True)
    assert 'name="promotion_code"' in get_page(session.url).text

    applied = _apply(session, code.code.lower())  # matched whatever its case

    assert applied.status == 303
    page = get_page(session.url)
    assert code.code in page.text
    assert "20% off" in page.text
    assert "-$13.20" in page.text
    assert 'id="total-due">$52.80<' in page.text
    assert "Remove promotion code" in page.text
    open_session = sdk.v1.checkout.sessions.retrieve(session.id)
    assert [d.to_dict() for d in open_session.discounts] == [
        {"coupon": None, "promotion_code": code.id}
    ]
    assert (open_session.amount_subtotal, open_session.amount_total) == (6600, 5280)
    assert open_session.total_details.amount_discount == 1320
    assert sdk.v1.promotion_codes.retrieve(code.id).times_redeemed == 0

    paid = post_form(session.url, VISA)

    assert paid.status == 303
    expand = ["subscription", "invoice", "total_details.breakdown", "line_items.data.discounts"]
    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": expand})
    assert done.status == "complete"
    assert (done.amount_total, done.total_details.amount_discount) == (5280, 1320)
    [breakdown] = done.total_details.breakdown.discounts
    [discount_id] = done.subscription.discounts
    assert (breakdown.amount, breakdown.discount.id) == (1320, discount_id)
    assert breakdown.discount.promotion_code == code.id
    item = done.line_items.data[0]
    assert (item.amount_subtotal, item.amount_discount, item.amount_total) == (6600, 1320, 5280)
    assert item.discounts[0].discount.id == discount_id
    assert (done.invoice.subtotal, done.invoice.total, done.invoice.amount_paid) == (
        6600,
        5280,
        5280,
    )
    assert sdk.v1.promotion_codes.retrieve(code.id).times_redeemed == 1


def test_a_code_can_be_removed_before_paying(sdk: stripe.StripeClient, seats: stripe.Price) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 50})
    code = _code(sdk, coupon.id)
    session = _session(sdk, seats.id, 7, allow_promotion_codes=True)
    _apply(session, code.code)

    removed = post_form(f"{session.url}/promotion_code", {"remove": "1"})

    assert removed.status == 303
    again = sdk.v1.checkout.sessions.retrieve(session.id)
    assert (again.discounts, again.amount_total) == ([], 6600)
    assert 'id="total-due">$66.00<' in get_page(session.url).text


def test_each_reason_a_code_is_refused_is_told_in_checkouts_words(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    plan = product_create(sdk, "Plan")
    other_product = product_create(sdk, "Other")
    price = recurring_price(sdk, plan, 5000)
    coupon = sdk.v1.coupons.create({"percent_off": 10, "duration": "forever"})
    elsewhere = sdk.v1.coupons.create(
        {"percent_off": 10, "applies_to": {"products": [other_product]}}
    )
    now = int(local_stripe.admin("GET", "/_local/clock")["now"])
    someone = card_customer(sdk)
    returning = card_customer(sdk)
    sdk.v1.subscriptions.create({"customer": returning.id, "items": [{"price": price.id}]})
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": now + 2 * DAY})
    later = card_customer(sdk, test_clock=clock.id)
    used_up = _code(sdk, coupon.id, max_redemptions=1)
    sdk.v1.subscriptions.create(
        {"customer": card_customer(sdk).id, "items": [{"price": price.id}],
         "discounts": [{"promotion_code": used_up.id}]}
    )  # fmt: skip
    cases = [
        ("NO-SUCH-CODE", None, "This code is invalid."),
        (_code(sdk, coupon.id, active=False).code, None, "This code is invalid."),
        (_code(sdk, coupon.id, customer=someone.id).code, None, "This code is invalid."),
        (_code(sdk, coupon.id, expires_at=now + DAY).code, later.id, "This code has expired."),
        (
            used_up.code,
            None,
            "This code has already been used the maximum number of times.",
        ),
        (
            _code(sdk, coupon.id, restrictions={"first_time_transaction": True}).code,
            returning.id,
            "This code is only for first-time customers.",
        ),
        (
            _code(
                sdk,
                coupon.id,
                restrictions={"minimum_amount": 10000, "minimum_amount_currency": "usd"},
            ).code,
            None,
            "This code requires an order of at least $100.00.",
        ),
        (
            _code(sdk, elsewhere.id).code,
            None,
            "This code does not apply to the items you are buying.",
        ),
    ]
    for typed, customer, message in cases:
        extra = {"customer": customer} if customer else {}
        session = _session(sdk, price.id, allow_promotion_codes=True, **extra)

        refused = _apply(session, typed)

        assert refused.status == 400, typed
        assert _error_of(refused.text) == message, typed
        assert 'aria-invalid="true" aria-describedby="promotion_code-error"' in refused.text
        assert sdk.v1.checkout.sessions.retrieve(session.id).discounts == []


def test_a_first_time_code_works_for_a_new_customer(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 4000)
    coupon = sdk.v1.coupons.create({"amount_off": 1000, "currency": "usd", "duration": "once"})
    code = _code(sdk, coupon.id, restrictions={"first_time_transaction": True})
    session = _session(sdk, price.id, allow_promotion_codes=True)

    assert _apply(session, code.code).status == 303
    assert post_form(session.url, VISA).status == 303

    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["invoice"]})
    assert done.invoice.total == 4000 - 1000


def test_a_discount_passed_at_creation_is_applied_and_the_page_takes_no_code(
    sdk: stripe.StripeClient, seats: stripe.Price
) -> None:
    coupon = sdk.v1.coupons.create({"amount_off": 1000, "currency": "usd", "duration": "once"})

    session = _session(sdk, seats.id, 7, discounts=[{"coupon": coupon.id}])

    assert [d.to_dict() for d in session.discounts] == [
        {"coupon": coupon.id, "promotion_code": None}
    ]
    assert (session.amount_total, session.total_details.amount_discount) == (6600 - 1000, 1000)
    page = get_page(session.url).text
    assert 'name="promotion_code"' not in page
    assert 'id="total-due">$56.00<' in page
    assert post_form(session.url, VISA).status == 303
    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    discount = sdk.v1.subscriptions.retrieve(
        done.subscription.id, {"expand": ["discounts"]}
    ).discounts[0]
    assert discount.source.coupon == coupon.id


def test_discounts_and_allow_promotion_codes_are_refused_together(
    sdk: stripe.StripeClient, seats: stripe.Price
) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 10})

    for allowed in (True, False):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            _session(
                sdk, seats.id, allow_promotion_codes=allowed, discounts=[{"coupon": coupon.id}]
            )
        assert refused.value.error.message == (
            "You may only specify one of these parameters: allow_promotion_codes, discounts."
        )


def test_a_promotion_code_passed_at_creation_is_checked_as_it_would_be_redeemed(
    sdk: stripe.StripeClient, seats: stripe.Price
) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 10})
    code = _code(
        sdk, coupon.id, restrictions={"minimum_amount": 100000, "minimum_amount_currency": "usd"}
    )

    with pytest.raises(stripe.InvalidRequestError) as refused:
        _session(sdk, seats.id, 7, discounts=[{"promotion_code": code.id}])

    assert refused.value.error.param == "discounts[0][promotion_code]"


def test_a_trial_with_a_code_charges_nothing_today_and_keeps_the_discount(
    sdk: stripe.StripeClient, seats: stripe.Price
) -> None:
    coupon = sdk.v1.coupons.create(
        {"percent_off": 20, "duration": "repeating", "duration_in_months": 3}
    )
    code = _code(sdk, coupon.id)
    session = _session(
        sdk,
        seats.id,
        7,
        allow_promotion_codes=True,
        payment_method_collection="if_required",
        subscription_data={"trial_period_days": 14},
    )

    assert _apply(session, code.code).status == 303
    page = get_page(session.url).text
    assert "Start trial" in page
    assert 'name="card_number"' not in page
    assert 'id="total-due">$0.00<' in page
    assert post_form(session.url, {}).status == 303

    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert done.payment_status == "no_payment_required"
    assert (done.amount_total, done.total_details.amount_discount) == (0, 0)
    assert done.subscription.status == "trialing"
    assert len(done.subscription.discounts) == 1
    preview = sdk.v1.invoices.create_preview({"subscription": done.subscription.id})
    assert preview.total == 6600 - 1320  # the first paid month, 20% off


def test_a_code_that_takes_everything_needs_no_card_when_collected_only_if_required(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Plan"), 900)
    coupon = sdk.v1.coupons.create({"percent_off": 100, "duration": "once"})
    code = _code(sdk, coupon.id)
    session = _session(
        sdk, price.id, allow_promotion_codes=True, payment_method_collection="if_required"
    )

    _apply(session, code.code)
    assert 'name="card_number"' not in get_page(session.url).text
    assert post_form(session.url, {}).status == 303

    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert (done.payment_status, done.amount_total) == ("no_payment_required", 0)
    assert done.subscription.status == "active"


def test_a_code_used_up_after_it_was_applied_comes_off_when_paying(
    sdk: stripe.StripeClient, seats: stripe.Price
) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 20})
    code = _code(sdk, coupon.id, max_redemptions=1)
    session = _session(sdk, seats.id, 7, allow_promotion_codes=True)
    _apply(session, code.code)
    sdk.v1.subscriptions.create(
        {"customer": card_customer(sdk).id, "items": [{"price": seats.id}],
         "discounts": [{"promotion_code": code.id}]}
    )  # fmt: skip

    refused = post_form(session.url, VISA)

    assert refused.status == 400
    assert _error_of(refused.text) == "This code has already been used the maximum number of times."
    assert 'id="total-due">$66.00<' in refused.text
    assert sdk.v1.checkout.sessions.retrieve(session.id).status == "open"
