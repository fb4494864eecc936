"""The server answers as Stripe does: API versions, expand, error codes, unknown endpoints,
deleted customers, idempotent failures, finished Checkout Sessions."""

from __future__ import annotations

import json
import time
import typing
import uuid
from typing import Any

import pytest
import requests
import stripe
from stripe.params._webhook_endpoint_create_params import WebhookEndpointCreateParams

from stripe_server import versions
from stripe_server.testing import LocalStripe
from tests.stripe_server.conftest import WebhookReceiver

SDK_VERSION = stripe.api_version  # "2026-08-26.dahlia", what stripe-python 15.6.2 sends
BEFORE_BASIL = "2025-02-24.acacia"


def _call(
    local: LocalStripe,
    method: str,
    path: str,
    *,
    version: str | None = None,
    data: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    sent = {"Authorization": f"Bearer {local.api_key}", **(headers or {})}
    if version is not None:
        sent["Stripe-Version"] = version
    return requests.request(method, f"{local.api_base}{path}", data=data, headers=sent, timeout=10)


@pytest.fixture
def subscribed(sdk: stripe.StripeClient) -> stripe.Subscription:
    product = sdk.v1.products.create({"name": "Fidelity"})
    price = sdk.v1.prices.create(
        {"product": product.id, "currency": "usd", "unit_amount": 1500,
         "recurring": {"interval": "month"}}
    )  # fmt: skip
    customer = sdk.v1.customers.create(
        {"email": "fidelity@example.com", "payment_method": "pm_card_visa",
         "invoice_settings": {"default_payment_method": "pm_card_visa"}}
    )  # fmt: skip
    return sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id, "quantity": 2}]}
    )


# --- versions -------------------------------------------------------------------------------


def test_an_unknown_version_is_refused_with_stripes_400(local_stripe: LocalStripe) -> None:
    answer = _call(local_stripe, "GET", "/v1/customers", version="1999-99-99")

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"] == "Invalid Stripe API version: 1999-99-99"


def test_the_server_knows_every_version_the_sdk_knows_from_acacia_on() -> None:
    # stripe-python lists every API version in its webhook endpoint parameters.
    (literal,) = typing.get_args(WebhookEndpointCreateParams.__annotations__["api_version"])
    # (`2025-03-01.dashboard` is the Dashboard's own, not an API release.)
    sdk_versions = {
        v for v in typing.get_args(literal) if v >= versions.OLDEST and "dashboard" not in v
    }

    assert sdk_versions == set(versions.KNOWN_VERSIONS)
    assert versions.ACCOUNT_DEFAULT == SDK_VERSION


def test_a_real_version_older_than_the_server_renders_is_refused_saying_so(
    local_stripe: LocalStripe,
) -> None:
    answer = _call(local_stripe, "GET", "/v1/customers", version="2020-08-27")

    assert answer.status_code == 400
    assert "does not emulate 2020-08-27" in answer.json()["error"]["message"]


def test_the_sdk_refuses_a_version_stripe_does_not_have(local_stripe: LocalStripe) -> None:
    client = stripe.StripeClient(
        local_stripe.api_key,
        base_addresses={"api": local_stripe.api_base},
        stripe_version="2030-01-01.nonesuch",
        max_network_retries=0,
    )
    with pytest.raises(stripe.InvalidRequestError, match="Invalid Stripe API version"):
        client.v1.customers.list()


def test_the_answer_names_the_version_it_was_rendered_in(local_stripe: LocalStripe) -> None:
    asked = _call(local_stripe, "GET", "/v1/customers", version=BEFORE_BASIL)
    default = _call(local_stripe, "GET", "/v1/customers")

    assert asked.headers["Stripe-Version"] == BEFORE_BASIL
    assert default.headers["Stripe-Version"] == SDK_VERSION


def test_todays_subscription_has_its_period_on_the_items_only(
    local_stripe: LocalStripe, subscribed: stripe.Subscription
) -> None:
    for version in (SDK_VERSION, "2026-05-27.dahlia", "2025-03-31.basil"):
        subscription = _call(
            local_stripe, "GET", f"/v1/subscriptions/{subscribed.id}", version=version
        ).json()
        item = subscription["items"]["data"][0]
        assert "current_period_start" not in subscription, version
        assert "current_period_end" not in subscription, version
        assert item["current_period_end"] > item["current_period_start"], version


def test_before_basil_the_subscription_carries_the_period_and_items_do_not(
    local_stripe: LocalStripe, subscribed: stripe.Subscription
) -> None:
    today = _call(local_stripe, "GET", f"/v1/subscriptions/{subscribed.id}").json()
    item_today = today["items"]["data"][0]

    old = _call(
        local_stripe, "GET", f"/v1/subscriptions/{subscribed.id}", version=BEFORE_BASIL
    ).json()

    assert old["current_period_start"] == item_today["current_period_start"]
    assert old["current_period_end"] == item_today["current_period_end"]
    assert old["discount"] is None
    assert "current_period_start" not in old["items"]["data"][0]


def test_an_invoice_names_its_subscription_by_version(
    local_stripe: LocalStripe, subscribed: stripe.Subscription
) -> None:
    path = f"/v1/invoices/{subscribed.latest_invoice}"

    today = _call(local_stripe, "GET", path).json()
    old = _call(local_stripe, "GET", path, version=BEFORE_BASIL).json()

    assert today["status"] == "paid"
    assert today["parent"]["subscription_details"]["subscription"] == subscribed.id
    for removed in ("subscription", "paid", "charge", "payment_intent", "subscription_details"):
        assert removed not in today, removed
    assert old["subscription"] == subscribed.id
    assert old["paid"] is True
    assert "parent" not in old
    line = old["lines"]["data"][0]
    assert line["type"] == "subscription"
    assert line["price"]["unit_amount"] == 1500
    assert line["subscription_item"] == subscribed["items"].data[0].id
    assert "parent" not in line
    assert "pricing" not in line


def test_webhook_endpoints_refuse_an_unknown_version(sdk: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.webhook_endpoints.create(
            {"url": "http://127.0.0.1:9/x", "enabled_events": ["*"], "api_version": "1999-99-99"}
        )
    assert refused.value.param == "api_version"


def test_events_reach_an_endpoint_in_its_own_version(
    sdk: stripe.StripeClient, webhook_receiver: WebhookReceiver
) -> None:
    old = sdk.v1.webhook_endpoints.create(
        {"url": webhook_receiver.url, "enabled_events": ["customer.subscription.created"],
         "api_version": BEFORE_BASIL}
    )  # fmt: skip
    try:
        assert old.api_version == BEFORE_BASIL
        customer = sdk.v1.customers.create(
            {"payment_method": "pm_card_visa",
             "invoice_settings": {"default_payment_method": "pm_card_visa"}}
        )  # fmt: skip
        product = sdk.v1.products.create({"name": "Versioned webhooks"})
        price = sdk.v1.prices.create(
            {"product": product.id, "currency": "usd", "unit_amount": 900,
             "recurring": {"interval": "month"}}
        )  # fmt: skip
        subscription = sdk.v1.subscriptions.create(
            {"customer": customer.id, "items": [{"price": price.id}]}
        )

        def delivered() -> dict[str, Any] | None:
            for body, _headers in webhook_receiver.received:
                event = json.loads(body)
                if event["data"]["object"]["id"] == subscription.id:
                    return event
            return None

        deadline = time.monotonic() + 10
        while delivered() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        event = delivered()
        assert event is not None, "the subscription's event never arrived"
        assert event["api_version"] == BEFORE_BASIL
        item = subscription["items"].data[0]
        assert event["data"]["object"]["current_period_end"] == item.current_period_end
        # The same event read through the API keeps the account's version, as Stripe's do.
        stored = sdk.v1.events.retrieve(event["id"])
        assert stored.api_version == SDK_VERSION
        assert "current_period_end" not in stored.data.object
    finally:
        sdk.v1.webhook_endpoints.delete(old.id)


# --- expand ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expand"),
    [
        ("/v1/subscriptions/{sub}", "nonesuch"),
        ("/v1/subscriptions/{sub}", "status"),
        ("/v1/subscriptions/{sub}", "items"),
        ("/v1/subscriptions", "customer"),
        ("/v1/prices", "product"),
    ],
)
def test_a_property_that_cannot_be_expanded_is_refused(
    local_stripe: LocalStripe, subscribed: stripe.Subscription, path: str, expand: str
) -> None:
    answer = _call(local_stripe, "GET", path.format(sub=subscribed.id) + f"?expand[]={expand}")

    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == f"This property cannot be expanded ({expand})."


def test_expanding_more_than_four_levels_is_refused(
    local_stripe: LocalStripe, subscribed: stripe.Subscription
) -> None:
    answer = _call(
        local_stripe,
        "GET",
        "/v1/subscriptions?expand[]=data.latest_invoice.customer.default_source.x",
    )

    assert answer.status_code == 400
    assert "more than 4 levels" in answer.json()["error"]["message"]


def test_expandable_paths_still_expand(
    sdk: stripe.StripeClient, subscribed: stripe.Subscription
) -> None:
    listed = sdk.v1.subscriptions.list(
        {"customer": subscribed.customer, "expand": ["data.customer", "data.latest_invoice"]}
    )
    found = sdk.v1.subscriptions.retrieve(subscribed.id, {"expand": ["items.data.price.product"]})

    assert listed.data[0].customer.object == "customer"
    assert listed.data[0].latest_invoice.object == "invoice"
    assert found["items"].data[0].price.product.object == "product"


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "data", "code", "param"),
    [
        ("POST", "/v1/subscriptions", {"nonesuch": "1"}, "parameter_unknown", "nonesuch"),
        ("GET", "/v1/customers?limit=two", None, "parameter_invalid_integer", "limit"),
        ("POST", "/v1/subscriptions", {"customer": ""}, "parameter_invalid_empty", "customer"),
    ],
)
def test_parameter_errors_carry_stripes_code(
    local_stripe: LocalStripe,
    method: str,
    path: str,
    data: dict[str, str] | None,
    code: str,
    param: str,
) -> None:
    answer = _call(local_stripe, method, path, data=data)

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["param"]) == (code, param)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/invoices/upcoming"),
        ("GET", "/v1/subscriptions/search"),
        ("GET", "/v1/customers/search"),
    ],
)
def test_an_endpoint_the_server_does_not_emulate_gets_a_404_naming_it(
    local_stripe: LocalStripe, method: str, path: str
) -> None:
    answer = _call(local_stripe, method, path, data={"customer": "cus_x"})

    assert answer.status_code == 404
    message = answer.json()["error"]["message"]
    assert f"does not emulate {method} {path}" in message
    assert "No such" not in message


def test_a_deleted_customer_reads_as_deleted(sdk: stripe.StripeClient) -> None:
    customer = sdk.v1.customers.create({"email": "gone@example.com"})
    sdk.v1.customers.delete(customer.id)

    again = sdk.v1.customers.retrieve(customer.id)

    assert again.to_dict() == {"id": customer.id, "object": "customer", "deleted": True}
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.customers.update(customer.id, {"name": "Back"})


def test_a_declined_request_repeated_with_its_key_is_replayed(
    local_stripe: LocalStripe,
) -> None:
    key = str(uuid.uuid4())
    customer = _call(local_stripe, "POST", "/v1/customers", data={"email": "d@example.com"})
    attach = {"customer": customer.json()["id"]}

    first = _call(
        local_stripe,
        "POST",
        "/v1/payment_methods/pm_card_chargeDeclined/attach",
        data=attach,
        headers={"Idempotency-Key": key},
    )
    second = _call(
        local_stripe,
        "POST",
        "/v1/payment_methods/pm_card_chargeDeclined/attach",
        data=attach,
        headers={"Idempotency-Key": key},
    )

    assert first.status_code == 402
    assert first.json()["error"]["code"] == "card_declined"
    assert "Idempotent-Replayed" not in first.headers
    assert second.status_code == 402
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"


def test_a_refused_parameter_is_not_remembered_under_its_key(local_stripe: LocalStripe) -> None:
    key = str(uuid.uuid4())
    refused = _call(
        local_stripe, "POST", "/v1/customers", data={"nonesuch": "1"},
        headers={"Idempotency-Key": key},
    )  # fmt: skip
    assert refused.status_code == 400

    # Validation failed before anything ran, so Stripe keeps nothing: the key is still free.
    created = _call(
        local_stripe, "POST", "/v1/customers", data={"email": "k@example.com"},
        headers={"Idempotency-Key": key},
    )  # fmt: skip
    assert created.status_code == 200
    assert created.json()["object"] == "customer"
