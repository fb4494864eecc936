"""Checkout Sessions through the real `stripe` SDK, and paying on the hosted Checkout page."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
import stripe

from tests.stripe_server.hosted_pages import get_page, post_form

SUCCESS = "http://127.0.0.1:9/billing/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://127.0.0.1:9/pricing"
VISA = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"}


def _email() -> str:
    return f"buyer-{uuid.uuid4().hex[:10]}@example.com"


def _monthly_price(sdk: stripe.StripeClient, amount: int = 1500) -> stripe.Price:
    product = sdk.v1.products.create({"name": f"Pro {uuid.uuid4().hex[:6]}"})
    return sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": amount,
            "recurring": {"interval": "month"},
        }
    )


def _session(sdk: stripe.StripeClient, price_id: str, **extra: object) -> stripe.checkout.Session:
    params: dict = {
        "mode": "subscription",
        "line_items": [{"price": price_id, "quantity": 1}],
        "success_url": SUCCESS,
        "cancel_url": CANCEL,
        **extra,
    }
    return sdk.v1.checkout.sessions.create(params)


def test_created_session_is_open_with_a_hosted_url_and_fixture_shape(
    stripe_fixtures, sdk: stripe.StripeClient, local_stripe
) -> None:
    price = _monthly_price(sdk)
    session = _session(
        sdk,
        price.id,
        customer_email=_email(),
        client_reference_id="user-42",
        allow_promotion_codes=True,
        metadata={"plan": "pro"},
        line_items=[{"price": price.id, "quantity": 3}],
    )
    assert session.id.startswith("cs_test_")
    assert session.status == "open"
    assert session.payment_status == "unpaid"
    assert session.mode == "subscription"
    assert session.amount_total == 4500
    assert session.client_reference_id == "user-42"
    assert session.allow_promotion_codes is True
    assert session.metadata.to_dict() == {"plan": "pro"}
    assert session.url == f"{local_stripe.api_base}/_hosted/checkout/{session.id}"
    fixture = stripe_fixtures["checkout.session"]
    assert set(session.to_dict()) == set(fixture)


def test_paying_with_a_test_card_completes_the_session_and_redirects(
    sdk: stripe.StripeClient, webhook_receiver
) -> None:
    sdk.v1.webhook_endpoints.create({"url": webhook_receiver.url, "enabled_events": ["*"]})
    price = _monthly_price(sdk, 2000)
    email = _email()
    session = _session(
        sdk,
        price.id,
        customer_email=email,
        subscription_data={"metadata": {"source": "checkout"}},
    )

    page = get_page(session.url)
    assert page.status == 200
    assert page.content_type.startswith("text/html")
    assert "$20.00" in page.text
    assert "Local test Stripe — no real payments" in page.text

    paid = post_form(session.url, {**VISA, "card_name": "Ada Lovelace"})

    assert paid.status == 303
    assert paid.location == SUCCESS.replace("{CHECKOUT_SESSION_ID}", session.id)
    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription", "line_items"]})
    assert done.status == "complete"
    assert done.url is None  # Stripe clears the page of a finished session
    assert done.payment_status == "paid"
    assert done.subscription.status == "active"
    assert done.subscription.metadata.to_dict() == {"source": "checkout"}
    assert done.subscription.customer == done.customer
    assert done.line_items.data[0].price.id == price.id
    customer = sdk.v1.customers.retrieve(done.customer)
    assert customer.email == email
    assert customer.name == "Ada Lovelace"
    invoice = sdk.v1.invoices.retrieve(done.invoice)
    assert invoice.status == "paid"
    assert invoice.amount_paid == 2000

    events = webhook_receiver.wait_for(
        lambda got: any(
            e["type"] == "checkout.session.completed" and e["data"]["object"]["id"] == session.id
            for e in got
        )
    )
    ours = [
        e["type"]
        for e in events
        if e["data"]["object"].get("customer") == done.customer
        or e["data"]["object"].get("id") == done.customer
    ]
    assert ours.index("customer.created") < ours.index("customer.subscription.created")
    assert ours.index("invoice.paid") < ours.index("checkout.session.completed")


def test_tiered_and_package_prices_total_with_the_price_maths(
    sdk: stripe.StripeClient,
) -> None:
    product = sdk.v1.products.create({"name": "Seats"})
    graduated = sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "recurring": {"interval": "month"},
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": 5, "unit_amount": 1000},
                {"up_to": "inf", "unit_amount": 800},
            ],
        }
    )
    package = sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 2500,
            "recurring": {"interval": "month"},
            "transform_quantity": {"divide_by": 10, "round": "up"},
        }
    )
    tiered_session = _session(
        sdk, graduated.id, line_items=[{"price": graduated.id, "quantity": 7}]
    )
    package_session = _session(sdk, package.id, line_items=[{"price": package.id, "quantity": 11}])

    assert tiered_session.amount_total == 6600  # 5 x $10 + 2 x $8
    assert package_session.amount_total == 5000  # 11 units bill as 2 packages of 10
    assert '<td class="amount" id="total-due">$66.00</td>' in get_page(tiered_session.url).text
    assert '<td class="amount" id="total-due">$50.00</td>' in get_page(package_session.url).text


def test_declined_card_shows_the_decline_and_creates_nothing(
    sdk: stripe.StripeClient,
) -> None:
    price = _monthly_price(sdk)
    email = _email()
    session = _session(sdk, price.id)

    declined = post_form(
        session.url, {**VISA, "card_number": "4000 0000 0000 0002", "email": email}
    )

    assert declined.status == 402
    assert "Your card was declined." in declined.text
    assert 'role="alert"' in declined.text
    assert sdk.v1.customers.list({"email": email}).data == []
    assert sdk.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_existing_customer_with_a_trial_starts_trialing_without_payment(
    sdk: stripe.StripeClient,
) -> None:
    price = _monthly_price(sdk)
    customer = sdk.v1.customers.create({"email": _email()})
    session = _session(
        sdk, price.id, customer=customer.id, subscription_data={"trial_period_days": 14}
    )
    assert session.amount_total == 0
    page = get_page(session.url)
    assert "14 days free" in page.text

    # 4000 0000 0000 0341 saves fine; only later charges fail, and a trial charges nothing now.
    paid = post_form(session.url, {**VISA, "card_number": "4000000000000341"})

    assert paid.status == 303
    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert done.customer == customer.id
    assert done.payment_status == "no_payment_required"
    assert done.subscription.status == "trialing"
    assert done.subscription.trial_end - done.subscription.trial_start == 14 * 86400


def test_expired_session_refuses_payment_and_shows_a_clear_page(
    sdk: stripe.StripeClient,
) -> None:
    price = _monthly_price(sdk)
    session = _session(sdk, price.id)

    expired = sdk.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    assert expired.url is None
    # The page a customer may still have open says the session is over.
    page = get_page(session.url)
    assert page.status == 410
    assert "expired" in page.text
    paid = post_form(session.url, {**VISA, "email": _email()})
    assert paid.status == 410
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.checkout.sessions.expire(session.id)
    assert 'status of "expired"' in str(raised.value.user_message)


def test_completed_session_page_says_so(sdk: stripe.StripeClient) -> None:
    price = _monthly_price(sdk)
    session = _session(sdk, price.id)
    assert post_form(session.url, {**VISA, "email": _email()}).status == 303

    again = get_page(session.url)

    assert again.status == 200
    assert "already complete" in again.text
    assert post_form(session.url, {**VISA, "email": _email()}).status == 200


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({**VISA}, "Enter your email address."),
        ({**VISA, "email": "not-an-email"}, "Your email address is invalid."),
        ({**VISA, "email": "a@b.co", "card_number": "1234"}, "Your card number is incorrect."),
        ({**VISA, "email": "a@b.co", "card_expiry": "13/30"}, "expiration month is invalid"),
        ({**VISA, "email": "a@b.co", "card_expiry": "01/20"}, "expiration date is in the past"),
        ({**VISA, "email": "a@b.co", "card_cvc": "12"}, "security code should be 3 digits"),
        ({**VISA, "email[nested]": "x"}, "Enter your email address."),
    ],
)
def test_invalid_card_form_answers_400_with_the_reason(
    sdk: stripe.StripeClient, fields: dict[str, str], message: str
) -> None:
    price = _monthly_price(sdk)
    session = _session(sdk, price.id)

    answer = post_form(session.url, fields)

    assert answer.status == 400
    assert message in answer.text
    assert sdk.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_unknown_session_is_404_for_the_api_and_the_page(
    sdk: stripe.StripeClient, local_stripe
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.checkout.sessions.retrieve("cs_test_nope")
    assert raised.value.http_status == 404
    assert get_page(f"{local_stripe.api_base}/_hosted/checkout/cs_test_nope").status == 404


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"customer": "cus_missing"}, "customer"),
        ({"success_url": "javascript:alert(1)"}, "success_url"),
        ({"mode": "payment"}, "mode"),
        ({"line_items": []}, "line_items"),
        ({"subscription_data": {"trial_period_days": 0}}, "subscription_data[trial_period_days]"),
        ({"payment_method_types": ["sepa_debit"]}, "payment_method_types"),
        ({"unknown_thing": "x"}, "unknown_thing"),
    ],
)
def test_invalid_session_parameters_are_refused_with_the_param(
    sdk: stripe.StripeClient, change: dict, param: str
) -> None:
    price = _monthly_price(sdk)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _session(sdk, price.id, **change)
    assert raised.value.http_status == 400
    assert raised.value.param == param


def test_customer_and_customer_email_together_are_refused(sdk: stripe.StripeClient) -> None:
    price = _monthly_price(sdk)
    customer = sdk.v1.customers.create({"email": _email()})
    with pytest.raises(stripe.InvalidRequestError, match="only specify one"):
        _session(sdk, price.id, customer=customer.id, customer_email=_email())


def test_one_time_price_is_refused_in_subscription_mode(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create({"name": "Setup fee"})
    one_time = sdk.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": 500})
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _session(sdk, one_time.id)
    assert raised.value.param == "line_items[0][price]"


def test_line_items_and_list_filters(sdk: stripe.StripeClient) -> None:
    price = _monthly_price(sdk, 900)
    customer = sdk.v1.customers.create({"email": _email()})
    session = _session(
        sdk, price.id, customer=customer.id, line_items=[{"price": price.id, "quantity": 2}]
    )

    items = sdk.v1.checkout.sessions.line_items.list(session.id)
    assert [(i.price.id, i.quantity, i.amount_total) for i in items.data] == [(price.id, 2, 1800)]
    listed = sdk.v1.checkout.sessions.list({"customer": customer.id, "status": "open"})
    assert [s.id for s in listed.data] == [session.id]
    assert sdk.v1.checkout.sessions.list({"customer": customer.id, "status": "complete"}).data == []


def test_djstripe_expands_are_answered(sdk: stripe.StripeClient) -> None:
    price = _monthly_price(sdk)
    session = _session(sdk, price.id)
    fetched = sdk.v1.checkout.sessions.retrieve(
        session.id,
        {"expand": ["line_items", "total_details.breakdown", "line_items.data.discounts"]},
    )
    assert fetched.line_items.data[0].discounts == []
    assert fetched.total_details.breakdown.to_dict() == {"discounts": [], "taxes": []}
    assert urlsplit(fetched.url).path == f"/_hosted/checkout/{session.id}"


def test_page_escapes_what_it_shows(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create({"name": "<script>alert(1)</script> Pro"})
    price = sdk.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 1000,
            "recurring": {"interval": "month"},
        }
    )
    session = _session(sdk, price.id)

    page = get_page(session.url)

    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Pro" in page.text
