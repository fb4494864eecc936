"""Free trials: what a trial's end does without a payment method, the trial's $0 invoice,
Checkout trials that collect no card, and resuming a subscription paused at the trial's end.

Subscriptions live on their own test clocks (`subscribers.py`'s calendar: 1 January 2026), so
every date and amount below is worked out here, never asked of the server.
"""

from __future__ import annotations

import uuid

import pytest
import stripe

from stripe_server.testing import LocalStripe
from tests.stripe_server.hosted_pages import get_page, post_form
from tests.stripe_server.subscribers import JAN_1_2026, product_create, recurring_price

DAY = 86400
SUCCESS = "http://127.0.0.1:9/billing/success?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://127.0.0.1:9/pricing"
VISA = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"}


def _email() -> str:
    return f"trial-{uuid.uuid4().hex[:10]}@example.com"


def _end_behavior(behavior: str) -> dict:
    return {"end_behavior": {"missing_payment_method": behavior}}


def _cardless_customer_on_clock(sdk: stripe.StripeClient) -> tuple[str, str]:
    """A customer with no payment method on a fresh clock at 1 Jan 2026: (clock, customer)."""
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": JAN_1_2026})
    customer = sdk.v1.customers.create({"email": _email(), "test_clock": clock.id})
    return clock.id, customer.id


def _server_now(local_stripe: LocalStripe) -> int:
    return int(local_stripe.admin("GET", "/_local/clock")["now"])


def _trialing(
    sdk: stripe.StripeClient, price: stripe.Price, behavior: str, *, card: bool = False
) -> tuple[str, stripe.Subscription]:
    """A 14-day trial from 1 Jan 2026 (it ends on 15 January) on its own clock, with
    `behavior` for a missing payment method, and a Visa on file if `card`: (clock,
    subscription)."""
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": JAN_1_2026})
    card_params = (
        {
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
        if card
        else {}
    )
    customer = sdk.v1.customers.create({"email": _email(), "test_clock": clock.id, **card_params})
    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id}],
            "trial_period_days": 14,
            "trial_settings": _end_behavior(behavior),
        }
    )
    return clock.id, subscription


def _advance(sdk: stripe.StripeClient, clock: str, to: int) -> None:
    sdk.v1.test_helpers.test_clocks.advance(clock, {"frozen_time": to})


def _about(event: stripe.Event, subscription_id: str) -> bool:
    obj = event.data.object
    if obj.object == "subscription":
        return obj.id == subscription_id
    if obj.object == "invoice":
        return obj.parent.subscription_details.subscription == subscription_id
    return False


def _history(sdk: stripe.StripeClient, subscription_id: str) -> list[tuple[str, int]]:
    """The (type, created) of every subscription and invoice event about the subscription,
    oldest first (events on the clocks of this file carry their 2026 times)."""
    listed = sdk.v1.events.list(
        {"created": {"gte": JAN_1_2026, "lt": JAN_1_2026 + 366 * DAY}, "limit": 100}
    ).auto_paging_iter()
    return [(event.type, event.created) for event in listed if _about(event, subscription_id)][::-1]


# --- trial_settings ------------------------------------------------------------------------


def test_a_subscription_invoices_at_the_trials_end_unless_told_otherwise(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    _clock, customer = _cardless_customer_on_clock(sdk)

    subscription = sdk.v1.subscriptions.create(
        {"customer": customer, "items": [{"price": price.id}], "trial_period_days": 14}
    )

    assert subscription.trial_settings.end_behavior.missing_payment_method == "create_invoice"


def test_trial_settings_are_taken_on_create_and_on_update(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    _clock, customer = _cardless_customer_on_clock(sdk)

    created = sdk.v1.subscriptions.create(
        {
            "customer": customer,
            "items": [{"price": price.id}],
            "trial_period_days": 14,
            "trial_settings": _end_behavior("pause"),
        }
    )
    updated = sdk.v1.subscriptions.update(created.id, {"trial_settings": _end_behavior("cancel")})

    assert created.trial_settings.end_behavior.missing_payment_method == "pause"
    assert updated.trial_settings.end_behavior.missing_payment_method == "cancel"
    assert (
        sdk.v1.subscriptions.retrieve(created.id).trial_settings.end_behavior.missing_payment_method
        == "cancel"
    )
    changed = [
        event
        for event in sdk.v1.events.list(
            {"type": "customer.subscription.updated", "limit": 100}
        ).auto_paging_iter()
        if event.data.object.id == created.id
        and "trial_settings" in (event.data.to_dict().get("previous_attributes") or {})
    ]
    assert len(changed) == 1
    previous = changed[0].data.previous_attributes.trial_settings
    assert previous.end_behavior.missing_payment_method == "pause"


def test_an_unknown_trial_end_behavior_is_refused_naming_the_parameter(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    _clock, customer = _cardless_customer_on_clock(sdk)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        sdk.v1.subscriptions.create(
            {
                "customer": customer,
                "items": [{"price": price.id}],
                "trial_period_days": 14,
                "trial_settings": _end_behavior("forget"),
            }
        )

    assert raised.value.param == "trial_settings[end_behavior][missing_payment_method]"
    assert sdk.v1.subscriptions.list({"customer": customer}).data == []


# --- Checkout: subscription_data[trial_end], [trial_settings], payment_method_collection ----


def _session(sdk: stripe.StripeClient, price_id: str, **extra: object) -> stripe.checkout.Session:
    return sdk.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "line_items": [{"price": price_id, "quantity": 1}],
            "success_url": SUCCESS,
            "cancel_url": CANCEL,
            **extra,
        }
    )


def test_checkout_passes_trial_end_and_trial_settings_to_the_subscription(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    trial_end = _server_now(local_stripe) + 10 * DAY
    session = _session(
        sdk,
        price.id,
        customer_email=_email(),
        subscription_data={"trial_end": trial_end, "trial_settings": _end_behavior("pause")},
    )
    assert session.amount_total == 0
    assert session.payment_method_collection == "always"

    assert post_form(session.url, VISA).status == 303

    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert done.payment_status == "no_payment_required"
    assert done.subscription.status == "trialing"
    assert done.subscription.trial_end == trial_end
    assert done.subscription.trial_settings.end_behavior.missing_payment_method == "pause"


def test_checkout_refuses_a_trial_end_less_than_two_days_away(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    soon = _server_now(local_stripe) + 2 * DAY - 60

    with pytest.raises(stripe.InvalidRequestError) as raised:
        _session(sdk, price.id, subscription_data={"trial_end": soon})

    assert raised.value.param == "subscription_data[trial_end]"
    assert "at least 2 days in the future" in str(raised.value.user_message)


def test_checkout_echoes_payment_method_collection(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)

    session = _session(
        sdk,
        price.id,
        payment_method_collection="if_required",
        subscription_data={"trial_period_days": 7},
    )

    assert session.payment_method_collection == "if_required"
    assert sdk.v1.checkout.sessions.retrieve(session.id).payment_method_collection == "if_required"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        _session(sdk, price.id, payment_method_collection="sometimes")
    assert raised.value.param == "payment_method_collection"


def test_checkout_if_required_starts_a_trial_without_asking_for_a_card(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    email = _email()
    session = _session(
        sdk,
        price.id,
        payment_method_collection="if_required",
        subscription_data={"trial_period_days": 14, "trial_settings": _end_behavior("pause")},
    )

    page = get_page(session.url)
    assert page.status == 200
    assert 'name="email"' in page.text
    assert "card_number" not in page.text
    assert ">Start trial</button>" in page.text
    done = post_form(session.url, {"email": email})

    assert done.status == 303
    completed = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert completed.status == "complete"
    assert completed.payment_status == "no_payment_required"
    assert completed.subscription.status == "trialing"
    assert completed.subscription.default_payment_method is None
    customer = sdk.v1.customers.retrieve(completed.customer)
    assert customer.email == email
    assert customer.invoice_settings.default_payment_method is None
    assert sdk.v1.payment_methods.list({"customer": customer.id}).data == []


def test_checkout_if_required_with_a_known_customer_shows_just_start_trial(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    customer = sdk.v1.customers.create({"email": _email()})
    session = _session(
        sdk,
        price.id,
        customer=customer.id,
        payment_method_collection="if_required",
        subscription_data={"trial_period_days": 7},
    )

    page = get_page(session.url)
    assert 'name="email"' not in page.text
    assert "card_number" not in page.text
    assert post_form(session.url, {}).status == 303
    completed = sdk.v1.checkout.sessions.retrieve(session.id)
    assert completed.customer == customer.id
    assert sdk.v1.payment_methods.list({"customer": customer.id}).data == []


@pytest.mark.parametrize(
    ("collection", "trial"), [("always", {"trial_period_days": 7}), ("if_required", {})]
)
def test_checkout_asks_for_a_card_when_it_always_collects_or_something_is_due(
    sdk: stripe.StripeClient, collection: str, trial: dict
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    session = _session(
        sdk,
        price.id,
        customer_email=_email(),
        payment_method_collection=collection,
        subscription_data=trial,
    )

    assert 'name="card_number"' in get_page(session.url).text
    missing = post_form(session.url, {})
    assert missing.status == 400
    assert "Enter your card number." in missing.text
    assert post_form(session.url, VISA).status == 303
    completed = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    assert completed.subscription.default_payment_method is not None
    assert completed.payment_status == ("no_payment_required" if trial else "paid")


# --- the trial's $0 invoice ----------------------------------------------------------------


def test_the_trials_first_invoice_has_a_zero_line_per_item(sdk: stripe.StripeClient) -> None:
    pro = sdk.v1.products.create({"name": f"Pro {uuid.uuid4().hex[:6]}"})
    seats = sdk.v1.products.create({"name": f"Seats {uuid.uuid4().hex[:6]}"})
    pro_price = recurring_price(sdk, pro.id, 1500)
    seat_price = recurring_price(sdk, seats.id, 700)
    _clock, customer = _cardless_customer_on_clock(sdk)

    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer,
            "items": [{"price": pro_price.id}, {"price": seat_price.id, "quantity": 3}],
            "trial_period_days": 14,
        }
    )

    invoice = sdk.v1.invoices.retrieve(subscription.latest_invoice)
    trial_end = JAN_1_2026 + 14 * DAY
    assert invoice.billing_reason == "subscription_create"
    assert invoice.status == "paid"
    assert (invoice.total, invoice.amount_due, invoice.amount_paid) == (0, 0, 0)
    lines = sorted(invoice.lines.data, key=lambda line: line.quantity)
    assert [
        (line.description, line.amount, line.quantity, line.period.start, line.period.end)
        for line in lines
    ] == [
        (f"Trial period for {pro.name}", 0, 1, JAN_1_2026, trial_end),
        (f"Trial period for {seats.name}", 0, 3, JAN_1_2026, trial_end),
    ]
    for line, item_price in zip(lines, (pro_price, seat_price), strict=True):
        details = line.parent.subscription_item_details
        assert details.proration is False
        assert details.subscription == subscription.id
        assert line.pricing.price_details.price == item_price.id
        assert line.pricing.unit_amount_decimal == 0


def test_the_trial_line_before_basil_names_its_price_and_costs_nothing_per_unit(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    _clock, customer = _cardless_customer_on_clock(sdk)
    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer,
            "items": [{"price": price.id, "quantity": 2}],
            "trial_period_days": 7,
        }
    )

    old = sdk.v1.invoices.retrieve(
        subscription.latest_invoice, options={"stripe_version": "2024-09-30.acacia"}
    )

    line = old.lines.data[0]
    assert (line.type, line.amount, line.quantity, line.proration) == ("subscription", 0, 2, False)
    assert line.price.id == price.id
    assert line.unit_amount_excluding_tax == "0"


# --- the trial's end -----------------------------------------------------------------------

TRIAL_END = JAN_1_2026 + 14 * DAY
FEB_15_2026 = TRIAL_END + 31 * DAY
START_EVENTS = [
    ("customer.subscription.created", JAN_1_2026),
    ("invoice.created", JAN_1_2026),
    ("invoice.finalized", JAN_1_2026),
    ("invoice.paid", JAN_1_2026),
    ("invoice.payment_succeeded", JAN_1_2026),
    ("customer.subscription.updated", JAN_1_2026),
]


def test_a_trial_set_to_cancel_ends_at_the_trials_end_without_an_invoice(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    clock, subscription = _trialing(sdk, price, "cancel")

    _advance(sdk, clock, TRIAL_END + 5 * DAY)

    ended = sdk.v1.subscriptions.retrieve(subscription.id)
    assert ended.status == "canceled"
    assert (ended.canceled_at, ended.ended_at) == (TRIAL_END, TRIAL_END)
    assert ended.cancellation_details.reason == "cancellation_requested"
    assert [i.id for i in sdk.v1.invoices.list({"subscription": subscription.id}).data] == [
        subscription.latest_invoice
    ]
    assert _history(sdk, subscription.id) == [
        *START_EVENTS,
        ("customer.subscription.trial_will_end", TRIAL_END - 3 * DAY),
        ("customer.subscription.deleted", TRIAL_END),
    ]


def test_a_trial_set_to_pause_pauses_at_the_trials_end_and_stays_paused(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    clock, subscription = _trialing(sdk, price, "pause")

    _advance(sdk, clock, TRIAL_END + 5 * DAY)
    paused = sdk.v1.subscriptions.retrieve(subscription.id)
    _advance(sdk, clock, FEB_15_2026 + 20 * DAY)

    assert paused.status == "paused"
    assert paused.pause_collection is None
    assert paused.ended_at is None
    assert sdk.v1.subscriptions.retrieve(subscription.id).status == "paused"
    assert [i.id for i in sdk.v1.invoices.list({"subscription": subscription.id}).data] == [
        subscription.latest_invoice
    ]
    assert _history(sdk, subscription.id) == [
        *START_EVENTS,
        ("customer.subscription.trial_will_end", TRIAL_END - 3 * DAY),
        ("customer.subscription.updated", TRIAL_END),
        ("customer.subscription.paused", TRIAL_END),
    ]
    updated = [
        e
        for e in sdk.v1.events.list(
            {"type": "customer.subscription.updated", "created": TRIAL_END}
        ).auto_paging_iter()
        if e.data.object.id == subscription.id
    ]
    assert updated[0].data.previous_attributes.to_dict() == {"status": "trialing"}
    assert (
        sdk.v1.subscriptions.list({"status": "paused", "customer": paused.customer}).data[0].id
        == subscription.id
    )


def test_a_cardless_trial_set_to_create_invoice_ends_past_due(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    clock, subscription = _trialing(sdk, price, "create_invoice")

    _advance(sdk, clock, TRIAL_END + DAY)

    after = sdk.v1.subscriptions.retrieve(subscription.id)
    assert after.status == "past_due"
    invoice = sdk.v1.invoices.retrieve(after.latest_invoice)
    assert (invoice.billing_reason, invoice.status) == ("subscription_cycle", "open")
    assert (invoice.amount_due, invoice.attempt_count) == (1500, 1)
    assert (invoice.period_start, invoice.period_end) == (TRIAL_END, FEB_15_2026)


@pytest.mark.parametrize("behavior", ["cancel", "pause"])
def test_a_trial_with_a_card_is_invoiced_and_charged_whatever_its_end_behavior(
    sdk: stripe.StripeClient, behavior: str
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    clock, subscription = _trialing(sdk, price, behavior, card=True)

    _advance(sdk, clock, TRIAL_END + DAY)

    after = sdk.v1.subscriptions.retrieve(subscription.id)
    assert after.status == "active"
    assert (
        after["items"].data[0].current_period_start,
        after["items"].data[0].current_period_end,
    ) == (
        TRIAL_END,
        FEB_15_2026,
    )
    invoice = sdk.v1.invoices.retrieve(after.latest_invoice)
    assert invoice.billing_reason == "subscription_cycle"
    assert (invoice.status, invoice.amount_paid) == ("paid", 1500)
    assert [t for t, _ in _history(sdk, subscription.id)][len(START_EVENTS) :] == [
        "customer.subscription.trial_will_end",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]


def test_a_clocked_trial_hears_trial_will_end_once_three_days_before(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    clock, subscription = _trialing(sdk, price, "create_invoice", card=True)

    def notices() -> list[int]:
        return [
            created
            for kind, created in _history(sdk, subscription.id)
            if kind == "customer.subscription.trial_will_end"
        ]

    _advance(sdk, clock, TRIAL_END - 3 * DAY - 1)
    assert notices() == []
    _advance(sdk, clock, TRIAL_END - 3 * DAY)
    assert notices() == [TRIAL_END - 3 * DAY]
    _advance(sdk, clock, TRIAL_END - DAY)
    _advance(sdk, clock, TRIAL_END + DAY)
    assert notices() == [TRIAL_END - 3 * DAY]


def test_the_preview_of_a_cardless_pausing_trial_shows_what_its_end_bills_with_a_card(
    sdk: stripe.StripeClient,
) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    _clock, subscription = _trialing(sdk, price, "pause")

    preview = sdk.v1.invoices.create_preview({"subscription": subscription.id})

    assert [(line.amount, line.period.start, line.period.end) for line in preview.lines.data] == [
        (1500, TRIAL_END, FEB_15_2026)
    ]
    assert sdk.v1.subscriptions.retrieve(subscription.id).status == "trialing"


# --- resuming a paused subscription --------------------------------------------------------

JAN_20_2026 = JAN_1_2026 + 19 * DAY
FEB_20_2026 = JAN_20_2026 + 31 * DAY


def _paused(sdk: stripe.StripeClient, amount: int = 1500) -> tuple[str, stripe.Subscription]:
    """A cardless subscription paused when its trial ended (15 January), on a clock moved to
    20 January: (clock, subscription)."""
    price = recurring_price(sdk, product_create(sdk, "Pro"), amount)
    clock, subscription = _trialing(sdk, price, "pause")
    _advance(sdk, clock, JAN_20_2026)
    paused = sdk.v1.subscriptions.retrieve(subscription.id)
    assert paused.status == "paused"
    return clock, paused


def _card_added(sdk: stripe.StripeClient, customer: str, token: str = "pm_card_visa") -> str:
    """Attach a card to the customer and make it the default for its invoices; its id."""
    card = sdk.v1.payment_methods.attach(token, {"customer": customer})
    sdk.v1.customers.update(customer, {"invoice_settings": {"default_payment_method": card.id}})
    return card.id


def _since(history: list[tuple[str, int]], moment: int) -> list[str]:
    return [kind for kind, created in history if created >= moment]


def test_resuming_now_bills_a_full_period_from_now_and_activates(
    sdk: stripe.StripeClient,
) -> None:
    _clock, paused = _paused(sdk)
    _card_added(sdk, paused.customer)

    resumed = sdk.v1.subscriptions.resume(paused.id)

    assert resumed.status == "active"
    assert resumed.billing_cycle_anchor == JAN_20_2026
    item = resumed["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (JAN_20_2026, FEB_20_2026)
    invoice = sdk.v1.invoices.retrieve(resumed.latest_invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", 1500)
    assert [(line.amount, line.period.start, line.period.end) for line in invoice.lines.data] == [
        (1500, JAN_20_2026, FEB_20_2026)
    ]
    assert _since(_history(sdk, paused.id), JAN_20_2026) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
        "customer.subscription.resumed",
    ]
    updated = next(
        e
        for e in sdk.v1.events.list(
            {"type": "customer.subscription.updated", "created": JAN_20_2026}
        ).auto_paging_iter()
        if e.data.object.id == paused.id
    )
    assert updated.data.previous_attributes.status == "paused"
    assert updated.data.previous_attributes.billing_cycle_anchor == TRIAL_END


def test_a_declined_resumption_stays_paused_until_its_invoice_is_paid(
    sdk: stripe.StripeClient,
) -> None:
    _clock, paused = _paused(sdk)
    _card_added(sdk, paused.customer, "pm_card_chargeCustomerFail")

    after = sdk.v1.subscriptions.resume(paused.id)

    assert after.status == "paused"
    assert after.billing_cycle_anchor == TRIAL_END
    assert after["items"].data[0].current_period_end == TRIAL_END
    invoice = sdk.v1.invoices.retrieve(after.latest_invoice)
    assert (invoice.status, invoice.amount_remaining, invoice.attempt_count) == ("open", 1500, 1)
    assert invoice.next_payment_attempt is None
    assert "customer.subscription.resumed" not in _since(_history(sdk, paused.id), JAN_20_2026)

    good = _card_added(sdk, paused.customer)
    paid = sdk.v1.invoices.pay(invoice.id, {"payment_method": good})

    # Paid at the clock's time, as everything of a test clock's customer.
    assert paid.status_transitions.paid_at == JAN_20_2026
    resumed = sdk.v1.subscriptions.retrieve(paused.id)
    assert resumed.status == "active"
    assert resumed.billing_cycle_anchor == JAN_20_2026
    assert resumed["items"].data[0].current_period_end == FEB_20_2026
    assert _history(sdk, paused.id)[-2:] == [
        ("customer.subscription.updated", JAN_20_2026),
        ("customer.subscription.resumed", JAN_20_2026),
    ]


def test_a_resumption_without_a_payment_method_is_voided_23_hours_later(
    sdk: stripe.StripeClient,
) -> None:
    clock, paused = _paused(sdk)

    after = sdk.v1.subscriptions.resume(paused.id)

    assert after.status == "paused"
    invoice_id = after.latest_invoice
    assert sdk.v1.invoices.retrieve(invoice_id).status == "open"
    _advance(sdk, clock, JAN_20_2026 + 23 * 3600 - 1)
    assert sdk.v1.invoices.retrieve(invoice_id).status == "open"
    _advance(sdk, clock, JAN_20_2026 + 2 * DAY)
    voided = sdk.v1.invoices.retrieve(invoice_id)
    assert voided.status == "void"
    assert voided.status_transitions.voided_at == JAN_20_2026 + 23 * 3600
    assert sdk.v1.subscriptions.retrieve(paused.id).status == "paused"


def test_paying_the_resumption_invoice_on_its_hosted_page_resumes_the_subscription(
    sdk: stripe.StripeClient,
) -> None:
    _clock, paused = _paused(sdk)
    invoice = sdk.v1.invoices.retrieve(sdk.v1.subscriptions.resume(paused.id).latest_invoice)
    assert invoice.status == "open"

    paid = post_form(invoice.hosted_invoice_url, VISA)

    assert paid.status == 303
    resumed = sdk.v1.subscriptions.retrieve(paused.id)
    assert resumed.status == "active"
    assert resumed["items"].data[0].current_period_start == JAN_20_2026
    assert sdk.v1.invoices.retrieve(invoice.id).amount_paid == 1500
    assert len(_events_of(sdk, "customer.subscription.resumed", paused.id)) == 1


def test_voiding_the_resumption_invoice_keeps_the_subscription_paused(
    sdk: stripe.StripeClient,
) -> None:
    _clock, paused = _paused(sdk)
    first = sdk.v1.subscriptions.resume(paused.id).latest_invoice

    sdk.v1.invoices.void_invoice(first)

    assert sdk.v1.subscriptions.retrieve(paused.id).status == "paused"
    _card_added(sdk, paused.customer)
    again = sdk.v1.subscriptions.resume(paused.id)
    assert again.status == "active"
    assert again.latest_invoice != first
    assert sdk.v1.invoices.retrieve(first).status == "void"


def test_resuming_with_an_unchanged_anchor_prorates_the_rest_of_the_cycle(
    sdk: stripe.StripeClient,
) -> None:
    clock, paused = _paused(sdk)
    _card_added(sdk, paused.customer)

    resumed = sdk.v1.subscriptions.resume(paused.id, {"billing_cycle_anchor": "unchanged"})

    # The cycle stays on the trial's end (15th): 26 of the period's 31 days are left.
    remaining = round(1500 * (FEB_15_2026 - JAN_20_2026) / (FEB_15_2026 - TRIAL_END))
    assert remaining == 1258
    assert resumed.status == "active"
    assert resumed.billing_cycle_anchor == TRIAL_END
    item = resumed["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (TRIAL_END, FEB_15_2026)
    assert resumed.latest_invoice == paused.latest_invoice
    pending = sdk.v1.invoice_items.list({"customer": paused.customer, "pending": True}).data
    assert [(i.amount, i.period.start, i.period.end) for i in pending] == [
        (remaining, JAN_20_2026, FEB_15_2026)
    ]

    _advance(sdk, clock, FEB_15_2026 + DAY)
    renewal = sdk.v1.invoices.retrieve(sdk.v1.subscriptions.retrieve(paused.id).latest_invoice)
    assert (renewal.status, renewal.amount_paid) == ("paid", 1500 + remaining)


def test_resuming_unchanged_with_always_invoice_charges_the_proration_now(
    sdk: stripe.StripeClient,
) -> None:
    _clock, paused = _paused(sdk)
    _card_added(sdk, paused.customer)
    as_of = JAN_20_2026 - 3600

    resumed = sdk.v1.subscriptions.resume(
        paused.id,
        {
            "billing_cycle_anchor": "unchanged",
            "proration_behavior": "always_invoice",
            "proration_date": as_of,
        },
    )

    remaining = round(1500 * (FEB_15_2026 - as_of) / (FEB_15_2026 - TRIAL_END))
    assert resumed.status == "active"
    invoice = sdk.v1.invoices.retrieve(resumed.latest_invoice)
    assert (invoice.status, invoice.amount_paid) == ("paid", remaining)
    assert [line.amount for line in invoice.lines.data] == [remaining]


def test_resuming_unchanged_without_prorations_bills_nothing(sdk: stripe.StripeClient) -> None:
    _clock, paused = _paused(sdk)

    resumed = sdk.v1.subscriptions.resume(
        paused.id, {"billing_cycle_anchor": "unchanged", "proration_behavior": "none"}
    )

    assert resumed.status == "active"
    assert resumed.latest_invoice == paused.latest_invoice
    assert sdk.v1.invoice_items.list({"customer": paused.customer, "pending": True}).data == []


def test_resume_refuses_what_it_cannot_do(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Pro"), 1500)
    _clock, trialing = _trialing(sdk, price, "pause")
    with pytest.raises(stripe.InvalidRequestError) as not_paused:
        sdk.v1.subscriptions.resume(trialing.id)
    assert not_paused.value.http_status == 400
    assert "not paused" in str(not_paused.value.user_message)

    _clock, paused = _paused(sdk)
    with pytest.raises(stripe.InvalidRequestError) as outside:
        sdk.v1.subscriptions.resume(
            paused.id,
            {"billing_cycle_anchor": "unchanged", "proration_date": TRIAL_END - DAY},
        )
    assert outside.value.param == "proration_date"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        sdk.v1.subscriptions.resume(paused.id, {"billing_cycle_anchor": "later"})
    assert unknown.value.param == "billing_cycle_anchor"
    assert sdk.v1.subscriptions.retrieve(paused.id).status == "paused"


# --- the hosted Customer Portal ------------------------------------------------------------

PORTAL_RETURN = "http://127.0.0.1:9/account/billing"


def _portal_configuration(sdk: stripe.StripeClient, product: str, price: str) -> str:
    return sdk.v1.billing_portal.configurations.create(
        {
            "features": {
                "subscription_update": {
                    "enabled": True,
                    "default_allowed_updates": ["price"],
                    "products": [{"product": product, "prices": [price]}],
                },
                "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
                "payment_method_update": {"enabled": True},
                "invoice_history": {"enabled": True},
            }
        }
    ).id


def _events_of(sdk: stripe.StripeClient, event_type: str, object_id: str) -> list:
    listed = sdk.v1.events.list({"type": event_type, "limit": 100}).auto_paging_iter()
    return [event for event in listed if event.data.object.id == object_id]


def test_the_portal_home_shows_a_paused_plan_and_cancels_it_now(sdk: stripe.StripeClient) -> None:
    _clock, paused = _paused(sdk)
    price = paused["items"].data[0].price
    session = sdk.v1.billing_portal.sessions.create(
        {
            "customer": paused.customer,
            "return_url": PORTAL_RETURN,
            "configuration": _portal_configuration(sdk, price.product, price.id),
        }
    )
    subscription_url = f"{session.url}/subscriptions/{paused.id}"

    home = get_page(session.url)

    assert home.status == 200
    assert '<span class="badge">paused</span>' in home.text
    assert "Paused since your free trial ended on January 15, 2026." in home.text
    assert f"{subscription_url}/update" not in home.text
    assert get_page(f"{subscription_url}/update").status == 400
    cancel = get_page(f"{subscription_url}/cancel")
    assert "canceled now" in cancel.text
    assert post_form(f"{subscription_url}/cancel", {}).status == 303
    assert sdk.v1.subscriptions.retrieve(paused.id).status == "canceled"


def test_a_cardless_customer_adds_a_card_in_the_portal_and_can_then_resume(
    sdk: stripe.StripeClient,
) -> None:
    _clock, paused = _paused(sdk)
    session = sdk.v1.billing_portal.sessions.create(
        {
            "customer": paused.customer,
            "return_url": PORTAL_RETURN,
            "flow_data": {"type": "payment_method_update"},
        }
    )
    home = get_page(f"{session.url}/home")
    assert "No payment method on file." in home.text

    form = get_page(session.url)
    assert 'name="card_number"' in form.text
    saved = post_form(
        session.url + "/payment-method",
        {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"},
    )

    assert saved.status == 303
    customer = sdk.v1.customers.retrieve(paused.customer)
    card_id = customer.invoice_settings.default_payment_method
    assert card_id is not None
    assert sdk.v1.payment_methods.retrieve(card_id).customer == paused.customer
    assert len(_events_of(sdk, "payment_method.attached", card_id)) == 1
    updated = _events_of(sdk, "customer.updated", paused.customer)
    assert [
        e.data.previous_attributes.invoice_settings.default_payment_method for e in updated
    ] == [None]
    # The subscription has no card of its own and stays paused until it is resumed.
    after = sdk.v1.subscriptions.retrieve(paused.id)
    assert (after.status, after.default_payment_method) == ("paused", None)
    resumed = sdk.v1.subscriptions.resume(paused.id)
    assert resumed.status == "active"
    assert sdk.v1.invoices.retrieve(resumed.latest_invoice).amount_paid == 1500
