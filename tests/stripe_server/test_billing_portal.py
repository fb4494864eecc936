"""Billing Portal configurations and sessions through the SDK, and the hosted portal's actions."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin

import pytest
import stripe

from tests.stripe_server.hosted_pages import PageResponse, get_page, hidden_fields, post_form
from tests.stripe_server.subscribers import (
    DAY,
    FEB_1_2026,
    JAN_1_2026,
    card_customer,
    recurring_price,
    subscriber_on_clock,
)

RETURN_URL = "http://127.0.0.1:9/account/billing"


@dataclass
class Setup:
    product: stripe.Product
    monthly: stripe.Price
    annual: stripe.Price
    customer: stripe.Customer
    subscription: stripe.Subscription
    configuration: stripe.billing_portal.Configuration


def _setup(
    sdk: stripe.StripeClient, *, cancel_mode: str = "at_period_end", unit_label: str | None = None
) -> Setup:
    product = sdk.v1.products.create(
        {
            "name": f"Team {uuid.uuid4().hex[:6]}",
            **({"unit_label": unit_label} if unit_label else {}),
        }
    )
    monthly = recurring_price(sdk, product.id, 1000, "month")
    annual = recurring_price(sdk, product.id, 10000, "year")
    customer = card_customer(sdk)
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


def _confirm(
    session_url: str, subscription_id: str, choice: dict[str, str]
) -> tuple[PageResponse, PageResponse]:
    """Choose a plan (and quantity) on the Update plan screen, then Confirm on the confirmation
    screen, as a browser does: the confirmation page and the answer to Confirm."""
    base = f"{session_url}/subscriptions/{subscription_id}/update"
    review = get_page(f"{base}/review?{urlencode(choice)}")
    assert review.status == 200, review.text
    fields = hidden_fields(review.text)
    if "quantity" in choice:
        fields["quantity"] = choice["quantity"]
    return review, post_form(f"{base}/confirm", fields)


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
    form = get_page(f"{session.url}/subscriptions/{setup.subscription.id}/update")
    assert setup.annual.id in form.text

    review, done = _confirm(session.url, setup.subscription.id, {"price": setup.annual.id})

    assert "Confirm your new plan" in review.text
    assert done.status == 303
    assert done.location.endswith("/home?notice=updated")
    after = sdk.v1.subscriptions.retrieve(setup.subscription.id)
    assert after["items"].data[0].price.id == setup.annual.id
    event = _latest_update(sdk, setup.subscription.id, "customer.subscription.updated")
    previous = event.data.previous_attributes["items"]["data"][0]
    assert previous["price"]["id"] == setup.monthly.id
    assert "Your plan has been updated." in get_page(f"{session.url}/home?notice=updated").text


def test_changing_the_quantity_of_a_per_seat_plan_updates_the_item(
    sdk: stripe.StripeClient,
) -> None:
    setup = _setup(sdk, unit_label="seat")
    session = _portal(sdk, setup)
    plans = get_page(f"{session.url}/subscriptions/{setup.subscription.id}/update")
    # The current plan stays choosable: its quantity can change.
    assert re.search(rf'value="{setup.monthly.id}" required>', plans.text)

    review, done = _confirm(
        session.url, setup.subscription.id, {"price": setup.monthly.id, "quantity": "4"}
    )

    assert "$10 per seat per month · 4 seats" in review.text
    assert done.status == 303
    assert sdk.v1.subscriptions.retrieve(setup.subscription.id)["items"].data[0].quantity == 4


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ({"price": "price_not_allowed"}, "Choose one of the plans listed."),
        ({}, "Choose a plan."),
        ({"price": "monthly"}, "That is already your plan: choose another one."),
        ({"price": "annual", "quantity": "3"}, "The quantity of this plan cannot be changed here."),
    ],
)
def test_plans_that_cannot_be_chosen_are_refused_on_the_plan_list(
    sdk: stripe.StripeClient, choice: dict[str, str], message: str
) -> None:
    setup = _setup(sdk)
    session = _portal(sdk, setup)
    prices = {"monthly": setup.monthly.id, "annual": setup.annual.id}
    if choice.get("price") in prices:
        choice = {**choice, "price": prices[choice["price"]]}
    base = f"{session.url}/subscriptions/{setup.subscription.id}/update"

    review = get_page(f"{base}/review?{urlencode(choice)}")
    confirm = post_form(f"{base}/confirm", choice)

    for answer in (review, confirm):
        assert answer.status == 400
        assert "<h1>Update plan</h1>" in answer.text
        assert html.escape(message) in answer.text
    item = sdk.v1.subscriptions.retrieve(setup.subscription.id)["items"].data[0]
    assert (item.price.id, item.quantity) == (setup.monthly.id, 1)


@pytest.mark.parametrize("quantity", ["0", "lots", "2.5", "-1", "10000"])
def test_a_bad_quantity_is_a_form_error_and_changes_nothing(
    sdk: stripe.StripeClient, quantity: str
) -> None:
    setup = _setup(sdk, unit_label="seat")
    session = _portal(sdk, setup)
    base = f"{session.url}/subscriptions/{setup.subscription.id}/update"
    choice = {"price": setup.annual.id, "quantity": quantity}

    review = get_page(f"{base}/review?{urlencode(choice)}")
    confirm = post_form(f"{base}/confirm", {**choice, "reviewed_quantity": quantity})

    for answer in (review, confirm):
        assert answer.status == 400
        assert "Enter a whole number of seats from 1 to 9999." in answer.text
        # The error is the quantity field's: shown after it, pointed to, and focused.
        assert 'aria-invalid="true" aria-describedby="quantity-error" autofocus' in answer.text
        assert 'id="quantity-error">Enter a whole number of seats' in answer.text
        assert '<button type="submit">Confirm</button>' not in answer.text
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

    _review, done = _confirm(session.url, setup.subscription.id, {"price": setup.annual.id})

    assert done.status == 303
    confirmation = get_page(urljoin(session.url, done.location))
    assert "Thanks for upgrading!" in confirmation.text


def test_unknown_portal_session_page_is_404(local_stripe) -> None:
    assert get_page(f"{local_stripe.api_base}/_hosted/portal/bps_nope").status == 404


def test_update_confirm_flow_opens_on_the_confirmation_of_the_proposed_change(
    sdk: stripe.StripeClient,
) -> None:
    setup = _setup(sdk, unit_label="seat")
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
    assert "Confirm your new plan" in page.text
    assert "$100 per seat per year · 3 seats" in page.text
    assert 'name="quantity" min="1" max="9999" step="1" value="3"' in page.text
    fields = hidden_fields(page.text)
    assert (fields["price"], fields["reviewed_quantity"]) == (setup.annual.id, "3")

    done = post_form(
        f"{session.url}/subscriptions/{setup.subscription.id}/update/confirm",
        {**fields, "quantity": "3"},
    )

    assert done.status == 303
    changed = sdk.v1.subscriptions.retrieve(setup.subscription.id)["items"].data[0]
    assert (changed.price.id, changed.quantity) == (setup.annual.id, 3)


@dataclass
class Catalogue:
    customer: stripe.Customer
    subscription: stripe.Subscription
    prices: dict[str, stripe.Price]
    products: dict[str, stripe.Product]


def _catalogue(sdk: stripe.StripeClient) -> Catalogue:
    """Flat, graduated, package and volume plans, as a SaaS offers them; a Basic subscriber."""
    tag = uuid.uuid4().hex[:6]
    products = {
        "basic": sdk.v1.products.create({"name": f"Basic {tag}"}),
        "team": sdk.v1.products.create({"name": f"Team {tag}", "unit_label": "seat"}),
        "packs": sdk.v1.products.create({"name": f"Seat packs {tag}", "unit_label": "seat"}),
        "crew": sdk.v1.products.create({"name": f"Crew {tag}", "unit_label": "seat"}),
    }
    tiers = [{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}]
    specs = {
        "basic_month": ("basic", {"unit_amount": 1000, "nickname": "Basic (monthly)"}, "month"),
        "basic_year": ("basic", {"unit_amount": 10000, "nickname": "Basic (yearly)"}, "year"),
        "team_month": (
            "team",
            {"billing_scheme": "tiered", "tiers_mode": "graduated", "tiers": tiers},
            "month",
        ),
        "packs_month": (
            "packs",
            {"unit_amount": 2500, "transform_quantity": {"divide_by": 10, "round": "up"}},
            "month",
        ),
        "crew_month": (
            "crew",
            {"billing_scheme": "tiered", "tiers_mode": "volume", "tiers": tiers},
            "month",
        ),
    }
    prices = {
        key: sdk.v1.prices.create(
            {
                "product": products[product].id,
                "currency": "usd",
                "recurring": {"interval": interval},
                **terms,
            }
        )
        for key, (product, terms, interval) in specs.items()
    }
    customer = card_customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": prices["basic_month"].id}]}
    )
    return Catalogue(customer, subscription, prices, products)


def _catalogue_portal(
    sdk: stripe.StripeClient,
    catalogue: Catalogue,
    *,
    allowed: tuple[str, ...] = ("price", "quantity"),
    basic_quantity: dict | None = None,
) -> str:
    """A portal session on the catalogue's plans; the URL of its Update plan screen."""
    entries = []
    for key, product in catalogue.products.items():
        entry = {
            "product": product.id,
            "prices": [p.id for name, p in catalogue.prices.items() if name.startswith(key)],
        }
        if key == "basic" and basic_quantity:
            entry["adjustable_quantity"] = basic_quantity
        entries.append(entry)
    configuration = sdk.v1.billing_portal.configurations.create(
        {
            "features": {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": list(allowed),
                    "products": entries,
                }
            }
        }
    )
    session = sdk.v1.billing_portal.sessions.create(
        {
            "customer": catalogue.customer.id,
            "return_url": RETURN_URL,
            "configuration": configuration.id,
        }
    )
    return f"{session.url}/subscriptions/{catalogue.subscription.id}/update"


def _plan_label(text: str, price_id: str) -> str:
    """What the Update plan screen says of one plan (its label's text)."""
    match = re.search(
        rf'<label class="choice plan"[^>]*><input [^>]*value="{price_id}"[^>]*>'
        r"(.*?)</label>",
        text,
    )
    assert match, f"no plan {price_id} listed"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def test_each_plan_is_named_once_with_its_price_worded_as_on_a_pricing_page(
    sdk: stripe.StripeClient,
) -> None:
    catalogue = _catalogue(sdk)
    page = get_page(_catalogue_portal(sdk, catalogue))
    names = {key: product.name for key, product in catalogue.products.items()}
    labels = {key: _plan_label(page.text, price.id) for key, price in catalogue.prices.items()}

    assert page.status == 200
    assert labels == {
        "basic_month": f"{names['basic']} $10 per month Current plan",
        "basic_year": f"{names['basic']} $100 per year",
        "team_month": f"{names['team']} $10 per seat per month for 1\N{EN DASH}5, then $8",
        "packs_month": f"{names['packs']} $25 per 10 seats per month",
        "crew_month": f"{names['crew']} Volume pricing: $10 per seat per month for "
        "1\N{EN DASH}5 seats, $8 per seat for 6 or more",
    }
    assert "(yearly)" not in page.text
    assert "(monthly)" not in page.text
    # Grouped by interval, monthly first; the current flat plan cannot be chosen again.
    assert page.text.index("<legend>Monthly</legend>") < page.text.index("<legend>Yearly</legend>")
    assert re.search(rf'value="{catalogue.prices["basic_month"].id}" required disabled>', page.text)
    assert f"Current plan: {names['basic']} · $10 per month" in page.text


def test_a_quantity_is_asked_only_where_the_configuration_and_the_price_allow_it(
    sdk: stripe.StripeClient,
) -> None:
    catalogue = _catalogue(sdk)
    prices = catalogue.prices
    plans = _catalogue_portal(sdk, catalogue)
    only_prices = _catalogue_portal(sdk, catalogue, allowed=("price",))
    bounded = _catalogue_portal(
        sdk, catalogue, basic_quantity={"enabled": True, "minimum": 1, "maximum": 50}
    )

    def review(plans_url: str, key: str, **extra: str):
        return get_page(f"{plans_url}/review?{urlencode({'price': prices[key].id, **extra})}")

    for key, asked in [
        ("basic_year", False),
        ("team_month", True),
        ("packs_month", True),
        ("crew_month", True),
    ]:
        page = review(plans, key)
        assert page.status == 200
        assert ('name="quantity"' in page.text) is asked, key
    assert 'name="quantity"' not in review(only_prices, "team_month").text
    assert 'name="quantity"' in review(bounded, "basic_year").text
    assert 'max="50"' in review(bounded, "basic_year").text
    too_many = review(bounded, "basic_year", quantity="51")
    assert too_many.status == 400
    assert "Enter a whole number of units from 1 to 50." in too_many.text


# An odd moment on 11 January, the clock's time when the customer opens the portal.
NOW = JAN_1_2026 + 10 * DAY + 5 * 3600 + 7 * 60 + 13


def _prorated(total: int, proration_date: int) -> int:
    """Stripe's per-second share of `total` for what is left of January after the date."""
    return round(total * (FEB_1_2026 - proration_date) / (FEB_1_2026 - JAN_1_2026))


@dataclass
class Upgrade:
    """A $10 Basic subscriber since 1 January (on a test clock, now at NOW) whose portal offers
    a $30 Pro plan: its confirmation screen's URL and what it needs to look at."""

    clock: str
    customer: str
    subscription: str
    pro: str
    plans_url: str

    def review(self) -> PageResponse:
        return get_page(f"{self.plans_url}/review?{urlencode({'price': self.pro})}")

    def confirm(self, fields: dict[str, str]) -> PageResponse:
        return post_form(f"{self.plans_url}/confirm", fields)


def _upgrade(sdk: stripe.StripeClient, proration_behavior: str) -> Upgrade:
    tag = uuid.uuid4().hex[:6]
    basic = sdk.v1.products.create({"name": f"Basic {tag}"})
    pro = sdk.v1.products.create({"name": f"Pro {tag}"})
    basic_price = recurring_price(sdk, basic.id, 1000)
    pro_price = recurring_price(sdk, pro.id, 3000)
    who = subscriber_on_clock(sdk, basic_price, now=NOW)
    configuration = sdk.v1.billing_portal.configurations.create(
        {
            "features": {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price"],
                    "proration_behavior": proration_behavior,
                    "products": [
                        {"product": basic.id, "prices": [basic_price.id]},
                        {"product": pro.id, "prices": [pro_price.id]},
                    ],
                }
            }
        }
    )
    session = sdk.v1.billing_portal.sessions.create(
        {"customer": who.customer, "return_url": RETURN_URL, "configuration": configuration.id}
    )
    plans_url = f"{session.url}/subscriptions/{who.subscription.id}/update"
    return Upgrade(who.clock, who.customer, who.subscription.id, pro_price.id, plans_url)


def _billing_state(sdk: stripe.StripeClient, upgrade: Upgrade) -> tuple:
    """Everything a plan change would touch: the item, the latest invoice, the invoices, the
    pending invoice items and the subscription's update events."""
    subscription = sdk.v1.subscriptions.retrieve(upgrade.subscription)
    item = subscription["items"].data[0]
    invoices = sdk.v1.invoices.list({"customer": upgrade.customer, "limit": 100}).data
    pending = sdk.v1.invoice_items.list({"customer": upgrade.customer, "pending": True}).data
    updates = [
        event.id
        for event in sdk.v1.events.list({"type": "customer.subscription.updated", "limit": 100})
        if event.data.object.id == upgrade.subscription
    ]
    return (
        item.price.id,
        item.quantity,
        subscription.latest_invoice,
        [invoice.id for invoice in invoices],
        [pending_item.id for pending_item in pending],
        updates,
    )


def test_always_invoice_shows_todays_charge_and_confirm_charges_exactly_that(
    sdk: stripe.StripeClient,
) -> None:
    upgrade = _upgrade(sdk, "always_invoice")
    before = _billing_state(sdk, upgrade)
    expected = _prorated(3000, NOW) - _prorated(1000, NOW)

    review = upgrade.review()

    assert review.status == 200
    fields = hidden_fields(review.text)
    assert fields["proration_date"] == str(NOW)
    assert f"You&#x27;ll be charged ${expected / 100:.2f} today." in review.text
    assert f"-${_prorated(1000, NOW) / 100:.2f}" in review.text
    assert f"${_prorated(3000, NOW) / 100:.2f}" in review.text
    assert _billing_state(sdk, upgrade) == before

    done = upgrade.confirm(fields)

    assert done.status == 303
    after = sdk.v1.subscriptions.retrieve(upgrade.subscription)
    assert after["items"].data[0].price.id == upgrade.pro
    invoice = sdk.v1.invoices.retrieve(after.latest_invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", expected)
    assert sorted(line.amount for line in invoice.lines.data) == [
        -_prorated(1000, NOW),
        _prorated(3000, NOW),
    ]


def test_create_prorations_adds_what_was_shown_to_the_next_invoice_even_when_confirmed_later(
    sdk: stripe.StripeClient,
) -> None:
    upgrade = _upgrade(sdk, "create_prorations")
    expected = _prorated(3000, NOW) - _prorated(1000, NOW)
    review = upgrade.review()
    assert (
        f"${expected / 100:.2f} will be added to your next invoice on February 1, 2026."
        in review.text
    )
    # The customer reads the page for half an hour; the change still prorates as shown.
    sdk.v1.test_helpers.test_clocks.advance(upgrade.clock, {"frozen_time": NOW + 1800})

    done = upgrade.confirm(hidden_fields(review.text))

    assert done.status == 303
    pending = sdk.v1.invoice_items.list({"customer": upgrade.customer, "pending": True}).data
    assert sorted((item.amount, item.period.start) for item in pending) == [
        (-_prorated(1000, NOW), NOW),
        (_prorated(3000, NOW), NOW),
    ]
    assert sum(item.amount for item in pending) == expected


def test_no_proration_shows_the_next_invoice_and_charges_nothing_today(
    sdk: stripe.StripeClient,
) -> None:
    upgrade = _upgrade(sdk, "none")
    review = upgrade.review()
    assert "No charge today; your next invoice is $30.00 on February 1, 2026." in review.text
    latest = sdk.v1.subscriptions.retrieve(upgrade.subscription).latest_invoice

    done = upgrade.confirm(hidden_fields(review.text))

    assert done.status == 303
    after = sdk.v1.subscriptions.retrieve(upgrade.subscription)
    assert (after["items"].data[0].price.id, after.latest_invoice) == (upgrade.pro, latest)
    assert not sdk.v1.invoice_items.list({"customer": upgrade.customer, "pending": True}).data


def test_a_declined_card_is_shown_on_the_confirmation_and_changes_nothing(
    sdk: stripe.StripeClient,
) -> None:
    upgrade = _upgrade(sdk, "always_invoice")
    failing = sdk.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", {"customer": upgrade.customer}
    )
    sdk.v1.customers.update(
        upgrade.customer, {"invoice_settings": {"default_payment_method": failing.id}}
    )
    review = upgrade.review()
    before = _billing_state(sdk, upgrade)

    declined = upgrade.confirm(hidden_fields(review.text))

    assert declined.status == 402
    assert "Your card was declined." in declined.text
    assert "Confirm your new plan" in declined.text
    assert _billing_state(sdk, upgrade) == before


def test_a_confirmation_out_of_date_is_shown_again_instead_of_applied(
    sdk: stripe.StripeClient,
) -> None:
    upgrade = _upgrade(sdk, "always_invoice")
    fields = hidden_fields(upgrade.review().text)
    before = _billing_state(sdk, upgrade)

    stale = upgrade.confirm({**fields, "proration_date": str(NOW - 2 * 3600)})
    made_up = upgrade.confirm({**fields, "proration_date": "soon"})

    for answer in (stale, made_up):
        assert answer.status == 409
        assert "out of date" in answer.text
        assert hidden_fields(answer.text)["proration_date"] == str(NOW)
    assert _billing_state(sdk, upgrade) == before


def test_confirming_another_quantity_than_the_one_shown_shows_its_amounts_first(
    sdk: stripe.StripeClient,
) -> None:
    setup = _setup(sdk, unit_label="seat")
    session = _portal(sdk, setup)
    base = f"{session.url}/subscriptions/{setup.subscription.id}/update"
    review = get_page(f"{base}/review?{urlencode({'price': setup.monthly.id, 'quantity': 4})}")

    answer = post_form(f"{base}/confirm", {**hidden_fields(review.text), "quantity": "6"})

    assert answer.status == 200
    assert "The amounts below are for 6 seats." in answer.text
    assert hidden_fields(answer.text)["reviewed_quantity"] == "6"
    assert sdk.v1.subscriptions.retrieve(setup.subscription.id)["items"].data[0].quantity == 1
