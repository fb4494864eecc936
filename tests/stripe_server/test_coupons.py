"""Coupons and promotion codes through the real SDK: their shapes, Stripe's refusals, the
events they send, and how API versions before 2025-09-30.clover show a promotion code."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import stripe

from stripe_server.testing import LocalStripe
from tests.stripe_server.subscribers import events_about, product_create

BEFORE_CLOVER = "2025-08-27.basil"


def _tag() -> str:
    return uuid.uuid4().hex[:8].upper()


@pytest.fixture
def basil_sdk(local_stripe: LocalStripe) -> stripe.StripeClient:
    """A client pinned to the last API version before promotion codes took `promotion`."""
    return stripe.StripeClient(
        local_stripe.api_key,
        base_addresses={"api": local_stripe.api_base},
        stripe_version=BEFORE_CLOVER,
        max_network_retries=0,
    )


def _refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(stripe.InvalidRequestError) as refused:
        call()
    assert refused.value.http_status == 400
    error = refused.value.error
    return {"message": error.message, "code": error.code, "param": error.param}


# --- coupons --------------------------------------------------------------------------------


def test_a_percent_coupon_has_stripes_defaults_and_the_fixture_shape(
    sdk: stripe.StripeClient, stripe_fixtures: dict[str, Any]
) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 25.5, "name": "Quarter-ish"})

    assert re.fullmatch(r"[A-Za-z0-9]{8}", coupon.id)
    assert coupon.percent_off == 25.5
    assert coupon.amount_off is None
    assert coupon.duration == "once"  # Stripe's default
    assert coupon.duration_in_months is None
    assert coupon.times_redeemed == 0
    assert coupon.valid is True
    assert coupon.redeem_by is None
    assert set(coupon.to_dict()) == set(stripe_fixtures["coupon"])


def test_an_amount_coupon_takes_a_custom_id_once(sdk: stripe.StripeClient) -> None:
    coupon_id = f"FIVE-OFF-{_tag()}"
    coupon = sdk.v1.coupons.create(
        {
            "id": coupon_id,
            "amount_off": 500,
            "currency": "usd",
            "duration": "repeating",
            "duration_in_months": 3,
            "max_redemptions": 10,
            "metadata": {"campaign": "spring"},
        }
    )

    assert (coupon.id, coupon.amount_off, coupon.currency) == (coupon_id, 500, "usd")
    assert (coupon.duration, coupon.duration_in_months) == ("repeating", 3)
    assert coupon.max_redemptions == 10
    assert sdk.v1.coupons.retrieve(coupon_id).metadata.to_dict() == {"campaign": "spring"}
    again = _refusal(
        lambda: sdk.v1.coupons.create({"id": coupon_id, "percent_off": 5, "duration": "once"})
    )
    assert again == {
        "message": "Coupon already exists.",
        "code": "resource_already_exists",
        "param": None,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"duration": "once"},
            ("Must provide percent_off or amount_off.", "parameter_missing", None),
        ),
        (
            {"percent_off": 10, "amount_off": 500, "currency": "usd"},
            ("Received both percent_off and amount_off parameters. Please pass in only one.",
             None, None),
        ),
        (
            {"amount_off": 500},
            ("You must pass currency when passing amount_off", None, "currency"),
        ),
        (
            {"percent_off": 10, "duration": "repeating"},
            ("The duration_in_months param must be set when creating a coupon with a repeating "
             "duration", None, "duration"),
        ),
        (
            {"percent_off": 0},
            ("This value must be greater than or equal to 0.01 (it currently is '0.0').", None,
             "percent_off"),
        ),
        (
            {"percent_off": 150},
            ("This value must be less than or equal to 100 (it currently is '150.0').", None,
             "percent_off"),
        ),
    ],
)  # fmt: skip
def test_a_coupon_stripe_would_refuse_is_refused_in_its_words(
    sdk: stripe.StripeClient, params: dict[str, Any], expected: tuple[str, str | None, str | None]
) -> None:
    refused = _refusal(lambda: sdk.v1.coupons.create(params))

    assert (refused["message"], refused["code"], refused["param"]) == expected


def test_redeem_by_must_be_in_the_future(sdk: stripe.StripeClient) -> None:
    refused = _refusal(lambda: sdk.v1.coupons.create({"percent_off": 10, "redeem_by": 1000}))

    assert refused["param"] == "redeem_by"
    assert refused["message"] == (
        "The parameter `redeem_by` expects a unix timestamp representing a date and time in the "
        "future. You specified the value `1000` which is in the past."
    )


def test_what_a_coupon_applies_to_is_shown_only_when_expanded(sdk: stripe.StripeClient) -> None:
    product = product_create(sdk, "Seats")
    coupon = sdk.v1.coupons.create({"percent_off": 20, "applies_to": {"products": [product]}})

    assert "applies_to" not in coupon
    expanded = sdk.v1.coupons.retrieve(coupon.id, {"expand": ["applies_to"]})
    assert expanded.applies_to.products == [product]
    unknown = _refusal(
        lambda: sdk.v1.coupons.create(
            {"percent_off": 20, "applies_to": {"products": ["prod_missing000"]}}
        )
    )
    assert unknown["param"] == "applies_to[products][0]"


def test_an_update_changes_only_the_name_and_metadata(sdk: stripe.StripeClient) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 10, "name": "Ten"})

    updated = sdk.v1.coupons.update(coupon.id, {"name": "Ten percent", "metadata": {"k": "v"}})

    assert (updated.name, updated.metadata.to_dict()) == ("Ten percent", {"k": "v"})
    refused = _refusal(lambda: sdk.v1.coupons.update(coupon.id, {"percent_off": 50}))  # type: ignore[typeddict-unknown-key]
    assert refused["code"] == "parameter_unknown"
    [event] = events_about(sdk, coupon.id, "coupon.updated")
    assert event.data.previous_attributes.to_dict() == {"name": "Ten", "metadata": {"k": None}}


def test_a_deleted_coupon_is_gone_but_announced_as_no_longer_valid(
    sdk: stripe.StripeClient,
) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 10})

    deleted = sdk.v1.coupons.delete(coupon.id)

    assert deleted.to_dict() == {"deleted": True, "id": coupon.id, "object": "coupon"}
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sdk.v1.coupons.retrieve(coupon.id)
    assert missing.value.http_status == 404
    assert missing.value.error.message == f"No such coupon: '{coupon.id}'"
    assert coupon.id not in [c.id for c in sdk.v1.coupons.list({"limit": 100})]
    [event] = events_about(sdk, coupon.id, "coupon.deleted")
    assert event.data.object.valid is False
    assert events_about(sdk, coupon.id, "coupon.created")


def test_coupons_are_listed_newest_first_with_pagination(sdk: stripe.StripeClient) -> None:
    first = sdk.v1.coupons.create({"percent_off": 1})
    second = sdk.v1.coupons.create({"percent_off": 2})

    page = sdk.v1.coupons.list({"limit": 1, "created": {"gte": first.created}})
    assert page.data[0].id == second.id
    assert page.has_more is True
    following = sdk.v1.coupons.list({"limit": 1, "starting_after": second.id})
    assert following.data[0].id == first.id


# --- promotion codes ------------------------------------------------------------------------


def test_a_promotion_code_names_its_coupon_under_promotion(
    sdk: stripe.StripeClient, stripe_fixtures: dict[str, Any]
) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 20})
    code = f"Spring-{_tag()}"

    promotion_code = sdk.v1.promotion_codes.create(
        {
            "promotion": {"type": "coupon", "coupon": coupon.id},
            "code": code,
            "max_redemptions": 5,
            "restrictions": {
                "first_time_transaction": True,
                "minimum_amount": 5000,
                "minimum_amount_currency": "usd",
            },
        }
    )

    assert promotion_code.id.startswith("promo_")
    assert promotion_code.code == code
    assert promotion_code.active is True
    assert promotion_code.promotion.to_dict() == {"coupon": coupon.id, "type": "coupon"}
    assert promotion_code.restrictions.to_dict() == {
        "first_time_transaction": True,
        "minimum_amount": 5000,
        "minimum_amount_currency": "usd",
    }
    assert (promotion_code.times_redeemed, promotion_code.max_redemptions) == (0, 5)
    assert set(promotion_code.to_dict()) == set(stripe_fixtures["promotion_code"])
    expanded = sdk.v1.promotion_codes.retrieve(promotion_code.id, {"expand": ["promotion.coupon"]})
    assert expanded.promotion.coupon.percent_off == 20
    assert events_about(sdk, promotion_code.id, "promotion_code.created")


def test_a_code_is_made_up_when_none_is_given(sdk: stripe.StripeClient) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 5})

    promotion_code = sdk.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}}
    )

    assert re.fullmatch(r"[A-Z0-9]{8}", promotion_code.code)


def test_before_clover_a_promotion_code_takes_and_shows_the_whole_coupon(
    sdk: stripe.StripeClient, basil_sdk: stripe.StripeClient
) -> None:
    coupon = sdk.v1.coupons.create({"amount_off": 300, "currency": "usd"})

    old = basil_sdk.v1.promotion_codes.create({"coupon": coupon.id, "code": f"OLD{_tag()}"})  # type: ignore[typeddict-unknown-key]

    assert "promotion" not in old
    assert old.coupon.id == coupon.id
    assert old.coupon.amount_off == 300
    today = sdk.v1.promotion_codes.retrieve(old.id)
    assert "coupon" not in today
    assert today.promotion.coupon == coupon.id
    refused = _refusal(
        lambda: sdk.v1.promotion_codes.create({"coupon": coupon.id})  # type: ignore[typeddict-unknown-key]
    )
    assert (refused["code"], refused["param"]) == ("parameter_unknown", "coupon")


def test_a_code_is_unique_among_active_codes_whatever_its_case(sdk: stripe.StripeClient) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 15})
    code = f"Welcome{_tag()}"
    promotion = {"type": "coupon", "coupon": coupon.id}
    first = sdk.v1.promotion_codes.create({"promotion": promotion, "code": code})

    refused = _refusal(
        lambda: sdk.v1.promotion_codes.create({"promotion": promotion, "code": code.upper()})
    )
    assert refused == {
        "message": "An active promotion code with this code already exists.",
        "code": None,
        "param": "code",
    }

    sdk.v1.promotion_codes.update(first.id, {"active": False})
    second = sdk.v1.promotion_codes.create({"promotion": promotion, "code": code.upper()})
    assert second.active is True
    reactivation = _refusal(lambda: sdk.v1.promotion_codes.update(first.id, {"active": True}))
    assert reactivation["param"] == "code"


def test_promotion_codes_are_listed_by_code_coupon_activity_and_customer(
    sdk: stripe.StripeClient,
) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 30})
    customer = sdk.v1.customers.create({"email": "codes@example.com"})
    code = f"Listed{_tag()}"
    promotion = {"type": "coupon", "coupon": coupon.id}
    general = sdk.v1.promotion_codes.create({"promotion": promotion, "code": code})
    personal = sdk.v1.promotion_codes.create(
        {"promotion": promotion, "code": f"{code}-ME", "customer": customer.id}
    )
    paused = sdk.v1.promotion_codes.create(
        {"promotion": promotion, "code": f"{code}-OFF", "active": False}
    )

    def ids(**filters: Any) -> set[str]:
        return {p.id for p in sdk.v1.promotion_codes.list({"limit": 100, **filters})}

    assert ids(code=code.lower()) == {general.id}
    assert ids(coupon=coupon.id) == {general.id, personal.id, paused.id}
    assert ids(coupon=coupon.id, active=False) == {paused.id}
    assert ids(customer=customer.id) == {personal.id}


def test_an_update_changes_activity_and_metadata_and_is_announced(
    sdk: stripe.StripeClient,
) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 10})
    promotion_code = sdk.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": f"Upd{_tag()}"}
    )

    updated = sdk.v1.promotion_codes.update(
        promotion_code.id, {"active": False, "metadata": {"why": "paused"}}
    )

    assert updated.active is False
    assert updated.metadata.to_dict() == {"why": "paused"}
    [event] = events_about(sdk, promotion_code.id, "promotion_code.updated")
    assert event.data.previous_attributes.to_dict() == {"active": True, "metadata": {"why": None}}
    refused = _refusal(
        lambda: sdk.v1.promotion_codes.update(promotion_code.id, {"code": "NEW"})  # type: ignore[typeddict-unknown-key]
    )
    assert refused["code"] == "parameter_unknown"


def test_a_code_whose_coupon_is_deleted_stops_being_active_for_good(
    sdk: stripe.StripeClient,
) -> None:
    coupon = sdk.v1.coupons.create({"percent_off": 10})
    promotion_code = sdk.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": f"Gone{_tag()}"}
    )

    sdk.v1.coupons.delete(coupon.id)

    assert sdk.v1.promotion_codes.retrieve(promotion_code.id).active is False
    refused = _refusal(lambda: sdk.v1.promotion_codes.update(promotion_code.id, {"active": True}))
    assert refused["message"] == (
        "A promotion code can only be reactivated when the coupon is still valid and the "
        "promotion code is otherwise redeemable."
    )


def test_expires_at_must_be_ahead_and_within_the_coupons_redeem_by(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    # The server's clock, which other tests may have moved ahead of the wall clock.
    redeem_by = int(local_stripe.admin("GET", "/_local/clock")["now"]) + 30 * 86400
    coupon = sdk.v1.coupons.create({"percent_off": 10, "redeem_by": redeem_by})
    promotion = {"type": "coupon", "coupon": coupon.id}

    past = _refusal(
        lambda: sdk.v1.promotion_codes.create({"promotion": promotion, "expires_at": 1000})
    )
    late = _refusal(
        lambda: sdk.v1.promotion_codes.create(
            {"promotion": promotion, "expires_at": redeem_by + 86400}
        )
    )

    assert past["param"] == late["param"] == "expires_at"
