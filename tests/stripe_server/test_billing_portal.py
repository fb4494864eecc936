"""Billing Portal configurations and sessions through the SDK, and the hosted portal's actions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urljoin

import pytest
import stripe

from tests.stripe_server.hosted_pages import get_page, post_form

RETURN_URL = "http://127.0.0.1:9/account/billing"


@dataclass
class Setup:
    product: stripe.Product
    monthly: stripe.Price
    annual: stripe.Price
    customer: stripe.Customer
    subscription: stripe.Subscription
    configuration: stripe.billing_portal.Configuration


def _setup(sdk: stripe.StripeClient, *, cancel_mode: str = "at_period_end") -> Setup:
    product = sdk.v1.products.create({"name": f"Team {uuid.uuid4().hex[:6]}"})
    monthly, annual = (
        sdk.v1.prices.create(
            {
                "product": product.id,
                "currency": "usd",
                "unit_amount": amount,
                "recurring": {"interval": interval},
            }
        )
        for amount, interval in ((1000, "month"), (10000, "year"))
    )
    customer = sdk.v1.customers.create(
        {
            "email": f"portal-{uuid.uuid4().hex[:8]}@example.com",
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": monthly.id}]}
    )
    configuration = sdk.v1.billing_portal.configurations.create(
        {
            "features": {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price", "quantity"],
                    "products": [{"product": product.id, "prices": [monthly.id, annual.id]}],
                },
                "subscription_cancel": {"enabled": True, "mode": cancel_mode},
                "payment_method_update": {"enabled": True},
                "invoice_history": {"enabled": True},
            }
        }
    )
    return Setup(product, monthly, annual, customer, subscription, configuration)


def _portal(sdk: stripe.StripeClient, setup: Setup, **extra: object):
    return sdk.v1.billing_portal.sessions.create(
        {
            "customer": setup.customer.id,
            "return_url": RETURN_URL,
            "configuration": setup.configuration.id,
            **extra,
        }
    )


def _latest_update(sdk: stripe.StripeClient, subscription_id: str, event_type: str):
    for event in sdk.v1.events.list({"type": event_type, "limit": 100}).auto_paging_iter():
        if event.data.object.id == subscription_id:
            return event
    raise AssertionError(f"no {event_type} for {subscription_id}")


def test_a_default_configuration_exists_with_the_fixture_shape(
    stripe_fixtures, sdk: stripe.StripeClient
) -> None:
    defaults = sdk.v1.billing_portal.configurations.list({"is_default": True}).data
    assert len(defaults) == 1
    fixture = stripe_fixtures["billing_portal.configuration"]
    assert set(defaults[0].to_dict()) == set(fixture)
    assert defaults[0].active is True
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.billing_portal.configurations.update(defaults[0].id, {"active": False})
    assert raised.value.param == "active"


def test_configuration_create_retrieve_update_and_list(sdk: stripe.StripeClient) -> None:
    setup = _setup(sdk)
    fetched = sdk.v1.billing_portal.configurations.retrieve(setup.configuration.id)
    feature = fetched.features.subscription_update
    assert feature.enabled is True
    assert feature.default_allowed_updates == ["price", "quantity"]
    assert feature.products[0].prices == [setup.monthly.id, setup.annual.id]
    assert feature.products[0].adjustable_quantity.to_dict() == {
        "enabled": False,
        "maximum": None,
        "minimum": 1,
    }
    assert fetched.is_default is False

    updated = sdk.v1.billing_portal.configurations.update(
        setup.configuration.id,
        {
            "features": {"subscription_cancel": {"mode": "immediately"}},
            "default_return_url": RETURN_URL,
            "metadata": {"app": "portal"},
        },
    )
    assert updated.features.subscription_cancel.mode == "immediately"
    assert updated.features.subscription_cancel.enabled is True
    assert updated.default_return_url == RETURN_URL
    listed = sdk.v1.billing_portal.configurations.list({"active": True, "limit": 100})
    assert setup.configuration.id in [c.id for c in listed.data]


def test_product_quantity_bounds_are_kept_and_checked(sdk: stripe.StripeClient) -> None:
    setup = _setup(sdk)
    entry = {"product": setup.product.id, "prices": [setup.monthly.id]}
    bounded = sdk.v1.billing_portal.configurations.update(
        setup.configuration.id,
        {
            "features": {
                "subscription_update": {
                    "products": [{**entry, "adjustable_quantity": {"enabled": True, "maximum": 50}}]
                }
            }
        },
    )
    quantity = bounded.features.subscription_update.products[0].adjustable_quantity
    assert (quantity.enabled, quantity.minimum, quantity.maximum) == (True, 1, 50)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.billing_portal.configurations.update(
            setup.configuration.id,
            {
                "features": {
                    "subscription_update": {
                        "products": [{**entry, "adjustable_quantity": {"minimum": 5, "maximum": 2}}]
                    }
                }
            },
        )
    assert raised.value.param == (
        "features[subscription_update][products][0][adjustable_quantity][maximum]"
    )


@pytest.mark.parametrize(
    ("features", "param"),
    [
        (
            {"subscription_update": {"enabled": True, "default_allowed_updates": ["price"]}},
            "features[subscription_update][products]",
        ),
        (
            {"subscription_update": {"default_allowed_updates": ["color"]}},
            "features[subscription_update][default_allowed_updates]",
        ),
        ({"subscription_cancel": {"mode": "someday"}}, "features[subscription_cancel][mode]"),
        ({"subscription_pause": {"enabled": True}}, "features[subscription_pause]"),
    ],
)
def test_invalid_configuration_is_refused_with_the_param(
    sdk: stripe.StripeClient, features: dict, param: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.billing_portal.configurations.create({"features": features})
    assert raised.value.param == param


def test_configuration_price_must_belong_to_its_product(sdk: stripe.StripeClient) -> None:
    setup = _setup(sdk)
    other = sdk.v1.products.create({"name": "Other"})
    with pytest.raises(stripe.InvalidRequestError, match="does not belong"):
        sdk.v1.billing_portal.configurations.create(
            {
                "features": {
                    "subscription_update": {
                        "enabled": True,
                        "default_allowed_updates": ["price"],
                        "products": [{"product": other.id, "prices": [setup.monthly.id]}],
                    }
                }
            }
        )


def test_session_has_the_fixture_shape_and_a_hosted_url(
    stripe_fixtures, sdk: stripe.StripeClient, local_stripe
) -> None:
    setup = _setup(sdk)
    session = _portal(sdk, setup)
    fixture = stripe_fixtures["billing_portal.session"]
    assert set(session.to_dict()) == set(fixture)
    assert session.url == f"{local_stripe.api_base}/_hosted/portal/{session.id}"
    assert session.return_url == RETURN_URL
    assert session.flow is None
    home = get_page(session.url)
    assert home.status == 200
    assert "Update plan" in home.text
    assert "Visa •••• 4242" in home.text
    assert RETURN_URL in home.text


def test_session_refusals(sdk: stripe.StripeClient) -> None:
    setup = _setup(sdk)
    stranger = sdk.v1.customers.create({"email": "stranger@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as no_return:
        sdk.v1.billing_portal.sessions.create({"customer": setup.customer.id})
    assert no_return.value.param == "return_url"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        sdk.v1.billing_portal.sessions.create({"customer": "cus_nope", "return_url": RETURN_URL})
    assert unknown.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError, match="does not belong"):
        sdk.v1.billing_portal.sessions.create(
            {
                "customer": stranger.id,
                "return_url": RETURN_URL,
                "configuration": setup.configuration.id,
                "flow_data": {
                    "type": "subscription_cancel",
                    "subscription_cancel": {"subscription": setup.subscription.id},
                },
            }
        )
    with pytest.raises(stripe.InvalidRequestError, match="subscription updates are disabled"):
        # The default configuration does not allow plan changes.
        sdk.v1.billing_portal.sessions.create(
            {
                "customer": setup.customer.id,
                "return_url": RETURN_URL,
                "flow_data": {
                    "type": "subscription_update",
                    "subscription_update": {"subscription": setup.subscription.id},
                },
            }
        )


def test_switching_to_the_annual_price_emits_updated_with_previous_items(
    sdk: stripe.StripeClient,
) -> None:
    setup = _setup(sdk)
    session = _portal(sdk, setup)
    url = f"{session.url}/subscriptions/{setup.subscription.id}/update"
    form = get_page(url)
    assert setup.annual.id in form.text

    done = post_form(url, {"price": setup.annual.id, "quantity": "1"})

    assert done.status == 303
    assert done.location.endswith("/home?notice=updated")
    after = sdk.v1.subscriptions.retrieve(setup.subscription.id)
    assert after["items"].data[0].price.id == setup.annual.id
    event = _latest_update(sdk, setup.subscription.id, "customer.subscription.updated")
    previous = event.data.previous_attributes["items"]["data"][0]
    assert previous["price"]["id"] == setup.monthly.id
    assert "Your plan has been updated." in get_page(f"{session.url}/home?notice=updated").text


def test_changing_quantity_updates_the_item(sdk: stripe.StripeClient) -> None:
    setup = _setup(sdk)
    session = _portal(sdk, setup)

    done = post_form(
        f"{session.url}/subscriptions/{setup.subscription.id}/update",
        {"price": setup.monthly.id, "quantity": "4"},
    )

    assert done.status == 303
    assert sdk.v1.subscriptions.retrieve(setup.subscription.id)["items"].data[0].quantity == 4


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"price": "price_not_allowed"}, "Choose one of the plans listed."),
        ({"quantity": "0"}, "Enter a quantity between 1 and 9999."),
        ({"quantity": "lots"}, "Enter a quantity between 1 and 9999."),
        ({}, "Nothing to change"),
    ],
)
def test_invalid_plan_changes_are_refused_without_changing_anything(
    sdk: stripe.StripeClient, fields: dict[str, str], message: str
) -> None:
    setup = _setup(sdk)
    session = _portal(sdk, setup)

    answer = post_form(f"{session.url}/subscriptions/{setup.subscription.id}/update", fields)

    assert answer.status == 400
    assert message in answer.text
    item = sdk.v1.subscriptions.retrieve(setup.subscription.id)["items"].data[0]
    assert (item.price.id, item.quantity) == (setup.monthly.id, 1)


def test_cancel_at_period_end_then_resume(sdk: stripe.StripeClient) -> None:
    setup = _setup(sdk)
    session = _portal(sdk, setup)
    base = f"{session.url}/subscriptions/{setup.subscription.id}"
    assert "end of your billing period" in get_page(f"{base}/cancel").text

    assert post_form(f"{base}/cancel", {}).status == 303

    scheduled = sdk.v1.subscriptions.retrieve(setup.subscription.id)
    assert scheduled.cancel_at_period_end is True
    assert scheduled.status == "active"
    event = _latest_update(sdk, setup.subscription.id, "customer.subscription.updated")
    assert event.data.previous_attributes["cancel_at_period_end"] is False
    assert "Renew plan" in get_page(f"{session.url}/home").text

    assert post_form(f"{base}/resume", {}).status == 303

    assert sdk.v1.subscriptions.retrieve(setup.subscription.id).cancel_at_period_end is False


def test_cancel_immediately_deletes_the_subscription(sdk: stripe.StripeClient) -> None:
    setup = _setup(sdk, cancel_mode="immediately")
    session = _portal(sdk, setup)

    done = post_form(f"{session.url}/subscriptions/{setup.subscription.id}/cancel", {})

    assert done.status == 303
    assert sdk.v1.subscriptions.retrieve(setup.subscription.id).status == "canceled"
    _latest_update(sdk, setup.subscription.id, "customer.subscription.deleted")


def test_replacing_the_card_sets_the_customers_default(sdk: stripe.StripeClient) -> None:
    setup = _setup(sdk)
    session = _portal(sdk, setup)
    url = f"{session.url}/payment-method"

    declined = post_form(
        url, {"card_number": "4000000000000002", "card_expiry": "12/34", "card_cvc": "123"}
    )
    assert declined.status == 402
    assert "Your card was declined." in declined.text
    before = sdk.v1.customers.retrieve(setup.customer.id).invoice_settings

    saved = post_form(
        url, {"card_number": "5555 5555 5555 4444", "card_expiry": "12/34", "card_cvc": "123"}
    )

    assert saved.status == 303
    after = sdk.v1.customers.retrieve(setup.customer.id).invoice_settings
    assert after.default_payment_method != before.default_payment_method
    card = sdk.v1.payment_methods.retrieve(after.default_payment_method).card
    assert (card.brand, card.last4) == ("mastercard", "4444")


def test_another_customers_subscription_is_not_found(sdk: stripe.StripeClient) -> None:
    mine, theirs = _setup(sdk), _setup(sdk)
    session = _portal(sdk, mine)

    answer = post_form(f"{session.url}/subscriptions/{theirs.subscription.id}/cancel", {})

    assert answer.status == 404
    assert sdk.v1.subscriptions.retrieve(theirs.subscription.id).cancel_at_period_end is False


def test_cancel_flow_opens_on_the_cancel_screen_and_redirects_after(
    sdk: stripe.StripeClient,
) -> None:
    setup = _setup(sdk)
    after_url = "http://127.0.0.1:9/account/billing?canceled=1"
    session = _portal(
        sdk,
        setup,
        flow_data={
            "type": "subscription_cancel",
            "subscription_cancel": {"subscription": setup.subscription.id},
            "after_completion": {"type": "redirect", "redirect": {"return_url": after_url}},
        },
    )
    assert session.flow.type == "subscription_cancel"
    assert session.flow.subscription_cancel.subscription == setup.subscription.id
    assert "Cancel your plan" in get_page(session.url).text

    done = post_form(f"{session.url}/subscriptions/{setup.subscription.id}/cancel", {})

    assert done.status == 303
    assert done.location == after_url


def test_update_flow_with_hosted_confirmation_shows_the_message(
    sdk: stripe.StripeClient,
) -> None:
    setup = _setup(sdk)
    session = _portal(
        sdk,
        setup,
        flow_data={
            "type": "subscription_update",
            "subscription_update": {"subscription": setup.subscription.id},
            "after_completion": {
                "type": "hosted_confirmation",
                "hosted_confirmation": {"custom_message": "Thanks for upgrading!"},
            },
        },
    )
    assert "Update plan" in get_page(session.url).text

    done = post_form(
        f"{session.url}/subscriptions/{setup.subscription.id}/update", {"price": setup.annual.id}
    )

    assert done.status == 303
    confirmation = get_page(urljoin(session.url, done.location))
    assert "Thanks for upgrading!" in confirmation.text


def test_unknown_portal_session_page_is_404(local_stripe) -> None:
    assert get_page(f"{local_stripe.api_base}/_hosted/portal/bps_nope").status == 404


def test_update_confirm_flow_proposes_the_change_and_applies_it(
    sdk: stripe.StripeClient,
) -> None:
    setup = _setup(sdk)
    item = setup.subscription["items"].data[0]
    session = _portal(
        sdk,
        setup,
        flow_data={
            "type": "subscription_update_confirm",
            "subscription_update_confirm": {
                "subscription": setup.subscription.id,
                "items": [{"id": item.id, "price": setup.annual.id, "quantity": 3}],
            },
        },
    )
    page = get_page(session.url)
    assert f'value="{setup.annual.id}" checked' in page.text
    assert 'name="quantity" min="1" max="9999" value="3"' in page.text

    done = post_form(
        f"{session.url}/subscriptions/{setup.subscription.id}/update",
        {"price": setup.annual.id, "quantity": "3"},
    )

    assert done.status == 303
    changed = sdk.v1.subscriptions.retrieve(setup.subscription.id)["items"].data[0]
    assert (changed.price.id, changed.quantity) == (setup.annual.id, 3)
