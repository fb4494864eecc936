"""Usage-based billing through the real SDK: meters, meter events (duplicates, timestamps,
asynchronous errors), adjustments, summaries, metered prices, and subscriptions that bill the
usage of each period that ended, on a test clock."""

from __future__ import annotations

import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import stripe

from stripe_server.testing import LocalStripe
from tests.stripe_server.hosted_pages import get_page, post_form

DAY, HOUR = 86400, 3600
BEFORE_BASIL = "2025-02-24.acacia"
VISA = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"}
FREE_UNITS = 10_000
CENTS_PER_UNIT_AFTER = Decimal("0.2")


def _name() -> str:
    return f"calls_{uuid.uuid4().hex[:10]}"


def _meter(sdk: stripe.StripeClient, formula: str = "sum", **extra: Any) -> stripe.billing.Meter:
    return sdk.v1.billing.meters.create(
        {
            "display_name": "API calls",
            "event_name": _name(),
            "default_aggregation": {"formula": formula},
            **extra,
        }
    )


def _customer(sdk: stripe.StripeClient, clock_id: str | None = None) -> stripe.Customer:
    params: dict[str, Any] = {
        "email": f"usage-{uuid.uuid4().hex[:8]}@example.com",
        "payment_method": "pm_card_visa",
        "invoice_settings": {"default_payment_method": "pm_card_visa"},
    }
    if clock_id:
        params["test_clock"] = clock_id
    return sdk.v1.customers.create(params)


def _clock(sdk: stripe.StripeClient, frozen_time: int) -> stripe.test_helpers.TestClock:
    return sdk.v1.test_helpers.test_clocks.create({"frozen_time": frozen_time})


def _record(
    sdk: stripe.StripeClient, meter: stripe.billing.Meter, customer_id: str, value: str, **extra
) -> stripe.billing.MeterEvent:
    return sdk.v1.billing.meter_events.create(
        {
            "event_name": meter.event_name,
            "payload": {"stripe_customer_id": customer_id, "value": value},
            **extra,
        }
    )


def _summaries(
    sdk: stripe.StripeClient, meter_id: str, customer_id: str, start: int, end: int, **extra
) -> list[tuple[int, int, float]]:
    listed = sdk.v1.billing.meters.event_summaries.list(
        meter_id, {"customer": customer_id, "start_time": start, "end_time": end, **extra}
    )
    return [(s.start_time, s.end_time, s.aggregated_value) for s in listed.auto_paging_iter()]


def _graduated_usage_cents(units: int) -> int:
    """The first 10,000 units free, every further one 0.2 cents; the line rounded to the cent."""
    cents = max(units - FREE_UNITS, 0) * CENTS_PER_UNIT_AFTER
    return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _usage_price(sdk: stripe.StripeClient, product_id: str, meter_id: str) -> stripe.Price:
    return sdk.v1.prices.create(
        {
            "product": product_id,
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers": [
                {"up_to": FREE_UNITS, "unit_amount": 0},
                {"up_to": "inf", "unit_amount_decimal": str(CENTS_PER_UNIT_AFTER)},
            ],
            "recurring": {"interval": "month", "usage_type": "metered", "meter": meter_id},
        }
    )


def _flat_and_usage(
    sdk: stripe.StripeClient,
) -> tuple[stripe.billing.Meter, stripe.Price, stripe.Price]:
    meter = _meter(sdk)
    product = sdk.v1.products.create({"name": f"API {uuid.uuid4().hex[:6]}"})
    flat = sdk.v1.prices.create(
        {"product": product.id, "currency": "usd", "unit_amount": 2000,
         "recurring": {"interval": "month"}}
    )  # fmt: skip
    return meter, flat, _usage_price(sdk, product.id, meter.id)


def _error(excinfo: pytest.ExceptionInfo) -> dict[str, Any]:
    return excinfo.value.error.to_dict()


# --- meters ---------------------------------------------------------------------------------


def test_a_meter_is_created_with_stripes_defaults_and_the_fixture_shape(
    sdk: stripe.StripeClient, stripe_fixtures: dict[str, Any]
) -> None:
    meter = _meter(sdk, event_time_window="hour")

    assert meter.id.startswith("mtr_")
    assert meter.object == "billing.meter"
    assert meter.status == "active"
    assert meter.status_transitions.deactivated_at is None
    assert meter.customer_mapping.to_dict() == {
        "event_payload_key": "stripe_customer_id",
        "type": "by_id",
    }
    assert meter.value_settings.event_payload_key == "value"
    assert meter.default_aggregation.formula == "sum"
    assert meter.event_time_window == "hour"
    assert set(meter.to_dict()) == set(stripe_fixtures["billing.meter"])
    assert sdk.v1.billing.meters.retrieve(meter.id).event_name == meter.event_name


def test_a_meter_takes_its_own_payload_keys_and_renames(sdk: stripe.StripeClient) -> None:
    meter = _meter(
        sdk,
        formula="last",
        customer_mapping={"event_payload_key": "account", "type": "by_id"},
        value_settings={"event_payload_key": "gigabytes"},
    )
    renamed = sdk.v1.billing.meters.update(meter.id, {"display_name": "Storage"})

    assert meter.customer_mapping.event_payload_key == "account"
    assert meter.value_settings.event_payload_key == "gigabytes"
    assert renamed.display_name == "Storage"
    assert renamed.event_name == meter.event_name
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.billing.meters.update(meter.id, {"event_name": "other"})  # type: ignore[typeddict-unknown-key]
    assert _error(refused)["code"] == "parameter_unknown"


def test_an_event_name_an_active_meter_has_is_refused_until_it_is_deactivated(
    sdk: stripe.StripeClient,
) -> None:
    first = _meter(sdk)
    same = {"display_name": "Again", "event_name": first.event_name,
            "default_aggregation": {"formula": "count"}}  # fmt: skip

    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.billing.meters.create(same)
    assert _error(refused)["param"] == "event_name"
    assert first.id in _error(refused)["message"]

    deactivated = sdk.v1.billing.meters.deactivate(first.id)
    second = sdk.v1.billing.meters.create(same)

    assert deactivated.status == "inactive"
    assert deactivated.status_transitions.deactivated_at is not None
    assert second.status == "active"
    with pytest.raises(stripe.InvalidRequestError) as taken:
        sdk.v1.billing.meters.reactivate(first.id)
    assert _error(taken)["param"] == "event_name"
    inactive = sdk.v1.billing.meters.list({"status": "inactive", "limit": 100})
    assert first.id in [m.id for m in inactive.auto_paging_iter()]
    active = sdk.v1.billing.meters.list({"status": "active", "limit": 100})
    assert first.id not in [m.id for m in active.auto_paging_iter()]

    sdk.v1.billing.meters.deactivate(second.id)
    reactivated = sdk.v1.billing.meters.reactivate(first.id)
    assert reactivated.status == "active"
    assert reactivated.status_transitions.deactivated_at is None
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.billing.meters.reactivate(first.id)


def test_meters_announce_their_changes_as_stripe_does(sdk: stripe.StripeClient) -> None:
    meter = _meter(sdk)
    sdk.v1.billing.meters.update(meter.id, {"display_name": "Renamed"})
    sdk.v1.billing.meters.deactivate(meter.id)
    sdk.v1.billing.meters.reactivate(meter.id)

    events = sdk.v1.events.list({"type": "billing.meter.*", "limit": 100}).auto_paging_iter()
    ours = [event for event in events if event.data.object["id"] == meter.id]

    assert [event.type for event in reversed(ours)] == [
        "billing.meter.created",
        "billing.meter.updated",
        "billing.meter.deactivated",
        "billing.meter.reactivated",
    ]
    updated = next(event for event in ours if event.type == "billing.meter.updated")
    assert updated.data.previous_attributes["display_name"] == "API calls"


def test_the_last_formula_arrived_with_basil(sdk: stripe.StripeClient) -> None:
    params = {"display_name": "Seats", "event_name": _name(),
              "default_aggregation": {"formula": "last"}}  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.billing.meters.create(params, {"stripe_version": BEFORE_BASIL})

    assert _error(refused)["param"] == "default_aggregation[formula]"
    assert sdk.v1.billing.meters.create(params).default_aggregation.formula == "last"


# --- meter events ---------------------------------------------------------------------------


def test_an_event_is_answered_as_recorded_and_its_identifier_is_taken_for_a_day(
    sdk: stripe.StripeClient, stripe_fixtures: dict[str, Any]
) -> None:
    meter = _meter(sdk)
    customer = _customer(sdk)
    identifier = f"retry-{uuid.uuid4().hex}"

    event = _record(sdk, meter, customer.id, "25", identifier=identifier)
    generated = _record(sdk, meter, customer.id, "1")

    assert event.object == "billing.meter_event"
    assert event.identifier == identifier
    assert event.event_name == meter.event_name
    assert event.payload.to_dict() == {"stripe_customer_id": customer.id, "value": "25"}
    assert abs(event.timestamp - event.created) <= 1
    assert set(event.to_dict()) == set(stripe_fixtures["billing.meter_event"])
    assert str(uuid.UUID(generated.identifier)) == generated.identifier
    with pytest.raises(stripe.InvalidRequestError) as duplicate:
        _record(sdk, meter, customer.id, "25", identifier=identifier)
    assert duplicate.value.http_status == 400
    assert _error(duplicate)["message"] == f"An event already exists with identifier {identifier}."


def test_timestamps_are_judged_by_the_customers_test_clock(sdk: stripe.StripeClient) -> None:
    frozen = int(time.time()) - 200 * DAY
    clock = _clock(sdk, frozen)
    customer = _customer(sdk, clock.id)
    meter = _meter(sdk)

    at_default = _record(sdk, meter, customer.id, "1")
    oldest = _record(sdk, meter, customer.id, "1", timestamp=frozen - 35 * DAY)
    latest = _record(sdk, meter, customer.id, "1", timestamp=frozen + 300)

    assert at_default.timestamp == frozen
    assert (oldest.timestamp, latest.timestamp) == (frozen - 35 * DAY, frozen + 300)
    with pytest.raises(stripe.InvalidRequestError) as too_old:
        _record(sdk, meter, customer.id, "1", timestamp=frozen - 35 * DAY - 1)
    assert _error(too_old)["param"] == "timestamp"
    assert _error(too_old)["message"] == (
        "The event timestamp cannot be more than 35 days in past. Expected a timestamp greater "
        f"than or equal to {frozen - 35 * DAY}."
    )
    with pytest.raises(stripe.InvalidRequestError) as too_new:
        _record(sdk, meter, customer.id, "1", timestamp=frozen + 301)
    assert _error(too_new)["param"] == "timestamp"


def test_events_stripe_checks_later_are_accepted_and_never_count(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    meter = _meter(sdk)
    retired = _meter(sdk)
    sdk.v1.billing.meters.deactivate(retired.id)
    customer = _customer(sdk)
    counted = _record(sdk, meter, customer.id, "10")
    refused_later = {
        "no_meter": {"event_name": _name(),
                     "payload": {"stripe_customer_id": customer.id, "value": "5"}},
        "archived_meter": {"event_name": retired.event_name,
                           "payload": {"stripe_customer_id": customer.id, "value": "5"}},
        "meter_event_no_customer_defined": {"event_name": meter.event_name,
                                            "payload": {"customer": customer.id, "value": "5"}},
        "meter_event_customer_not_found": {"event_name": meter.event_name,
                                           "payload": {"stripe_customer_id": "cus_nobody0000",
                                                       "value": "5"}},
        "meter_event_value_not_found": {"event_name": meter.event_name,
                                        "payload": {"stripe_customer_id": customer.id}},
        "meter_event_invalid_value": {"event_name": meter.event_name,
                                      "payload": {"stripe_customer_id": customer.id,
                                                  "value": "five"}},
    }  # fmt: skip

    answered = {
        code: sdk.v1.billing.meter_events.create(params).identifier
        for code, params in refused_later.items()
    }

    start = counted.timestamp // 60 * 60
    assert _summaries(sdk, meter.id, customer.id, start, start + 600) == [(start, start + 600, 10)]
    errors = local_stripe.admin("GET", "/_local/billing/meter_event_errors?limit=100")["data"]
    by_identifier = {error["identifier"]: error["code"] for error in errors}
    assert {code: by_identifier.get(identifier) for code, identifier in answered.items()} == {
        code: code for code in refused_later
    }


def test_count_ignores_values_and_last_takes_the_latest_by_timestamp(
    sdk: stripe.StripeClient,
) -> None:
    frozen = int(time.time()) // DAY * DAY - 100 * DAY
    customer = _customer(sdk, _clock(sdk, frozen).id)
    counter, latest = _meter(sdk, "count"), _meter(sdk, "last")
    for meter in (counter, latest):
        _record(sdk, meter, customer.id, "7", timestamp=frozen - 2 * HOUR)
        _record(sdk, meter, customer.id, "3", timestamp=frozen - 3 * HOUR)
    sdk.v1.billing.meter_events.create(
        {"event_name": counter.event_name, "timestamp": frozen - HOUR,
         "payload": {"stripe_customer_id": customer.id}}
    )  # fmt: skip

    day_before = (frozen - DAY, frozen)
    assert _summaries(sdk, counter.id, customer.id, *day_before) == [(*day_before, 3)]
    assert _summaries(sdk, latest.id, customer.id, *day_before) == [(*day_before, 7)]


def test_a_canceled_event_stops_counting(sdk: stripe.StripeClient) -> None:
    meter = _meter(sdk)
    customer = _customer(sdk)
    kept = _record(sdk, meter, customer.id, "10")
    mistake = _record(sdk, meter, customer.id, "5")

    adjustment = sdk.v1.billing.meter_event_adjustments.create(
        {"event_name": meter.event_name, "type": "cancel",
         "cancel": {"identifier": mistake.identifier}}
    )  # fmt: skip

    assert adjustment.object == "billing.meter_event_adjustment"
    assert adjustment.cancel.identifier == mistake.identifier
    assert adjustment.type == "cancel"
    assert adjustment.status in ("pending", "complete")
    start = kept.timestamp // 60 * 60
    assert _summaries(sdk, meter.id, customer.id, start, start + 600)[0][2] == 10
    with pytest.raises(stripe.InvalidRequestError) as again:
        sdk.v1.billing.meter_event_adjustments.create(
            {"event_name": meter.event_name, "type": "cancel",
             "cancel": {"identifier": mistake.identifier}}
        )  # fmt: skip
    assert _error(again)["param"] == "cancel[identifier]"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        sdk.v1.billing.meter_event_adjustments.create(
            {"event_name": meter.event_name, "type": "cancel",
             "cancel": {"identifier": "never-sent"}}
        )  # fmt: skip
    assert _error(unknown)["param"] == "cancel[identifier]"


def test_summaries_group_by_hour_and_day_on_aligned_times(sdk: stripe.StripeClient) -> None:
    day = int(time.time()) // DAY * DAY - 300 * DAY
    customer = _customer(sdk, _clock(sdk, day + 12 * HOUR).id)
    meter = _meter(sdk)
    for offset, value in ((HOUR, "3"), (HOUR + 1800, "4"), (2 * HOUR, "5"), (3 * HOUR - DAY, "7")):
        _record(sdk, meter, customer.id, value, timestamp=day + offset)
    other = _customer(sdk, _clock(sdk, day + 12 * HOUR).id)
    _record(sdk, meter, other.id, "1000", timestamp=day + HOUR)

    whole = _summaries(sdk, meter.id, customer.id, day - DAY, day + DAY)
    by_day = _summaries(
        sdk, meter.id, customer.id, day - DAY, day + DAY, value_grouping_window="day"
    )
    by_hour = _summaries(sdk, meter.id, customer.id, day, day + DAY, value_grouping_window="hour")

    assert whole == [(day - DAY, day + DAY, 3 + 4 + 5 + 7)]
    assert sorted(by_day) == [(day - DAY, day, 7), (day, day + DAY, 3 + 4 + 5)]
    assert sorted(by_hour) == [
        (day + HOUR, day + 2 * HOUR, 3 + 4),
        (day + 2 * HOUR, day + 3 * HOUR, 5),
    ]
    paged = sdk.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer.id, "start_time": day, "end_time": day + DAY,
                   "value_grouping_window": "hour", "limit": 1}
    )  # fmt: skip
    assert len(paged.data) == 1 and paged.has_more
    summary = paged.data[0]
    assert summary.object == "billing.meter_event_summary"
    assert summary.meter == meter.id
    for misaligned in (
        {"start_time": day + 30, "end_time": day + DAY},
        {"start_time": day + 60, "end_time": day + DAY, "value_grouping_window": "hour"},
        {"start_time": day, "end_time": day + HOUR, "value_grouping_window": "day"},
    ):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            sdk.v1.billing.meters.event_summaries.list(
                meter.id, {"customer": customer.id, **misaligned}
            )
        assert refused.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as missing:
        sdk.v1.billing.meters.event_summaries.list(
            meter.id,
            {"customer": customer.id, "start_time": day},  # type: ignore[typeddict-item]
        )
    assert _error(missing)["code"] == "parameter_missing"


# --- metered prices -------------------------------------------------------------------------


def test_a_metered_price_must_name_an_active_meter(sdk: stripe.StripeClient) -> None:
    meter = _meter(sdk)
    product = sdk.v1.products.create({"name": "Usage"})
    base = {"product": product.id, "currency": "usd", "unit_amount_decimal": "0.5"}

    price = sdk.v1.prices.create(
        {**base, "recurring": {"interval": "month", "usage_type": "metered", "meter": meter.id}}
    )
    assert price.recurring.usage_type == "metered"
    assert price.recurring.meter == meter.id
    assert price.unit_amount is None and price.unit_amount_decimal == Decimal("0.5")
    by_meter = sdk.v1.prices.list({"recurring": {"meter": meter.id}})
    licensed = sdk.v1.prices.list({"product": product.id, "recurring": {"usage_type": "licensed"}})
    assert [p.id for p in by_meter.data] == [price.id]
    assert licensed.data == []
    for recurring, version in (
        ({"interval": "month", "usage_type": "metered"}, None),
        ({"interval": "month", "usage_type": "metered"}, BEFORE_BASIL),
        ({"interval": "month", "meter": meter.id}, None),
    ):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            options = {"stripe_version": version} if version else {}
            sdk.v1.prices.create({**base, "recurring": recurring}, options)
        assert _error(refused)["param"] == "recurring[meter]"
    sdk.v1.billing.meters.deactivate(meter.id)
    with pytest.raises(stripe.InvalidRequestError) as inactive:
        sdk.v1.prices.create(
            {**base, "recurring": {"interval": "month", "usage_type": "metered",
                                   "meter": meter.id}}
        )  # fmt: skip
    assert _error(inactive)["param"] == "recurring[meter]"


# --- subscriptions --------------------------------------------------------------------------


def test_a_renewal_bills_the_ended_periods_usage_through_graduated_tiers(
    sdk: stripe.StripeClient,
) -> None:
    meter, flat, usage = _flat_and_usage(sdk)
    start = int(time.time()) - 400 * DAY
    clock = _clock(sdk, start)
    customer = _customer(sdk, clock.id)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": flat.id}, {"price": usage.id}],
         "expand": ["latest_invoice"]}
    )  # fmt: skip
    flat_item, usage_item = subscription["items"].data
    period_end = flat_item.current_period_end

    # The metered item has no quantity; the first invoice bills the flat price in advance and
    # the usage (none yet) at $0.
    assert "quantity" not in usage_item.to_dict()
    assert flat_item.quantity == 1
    first = subscription.latest_invoice
    assert first.total == 2000
    metered_first = next(line for line in first.lines.data if line.amount == 0)
    assert metered_first.quantity == 0
    assert metered_first.parent.subscription_item_details.subscription_item == usage_item.id

    _record(sdk, meter, customer.id, "7000", timestamp=start + 60)
    sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": start + 10 * DAY})
    _record(sdk, meter, customer.id, "4000")
    _record(sdk, meter, customer.id, "1345")
    mistake = _record(sdk, meter, customer.id, "999")
    sdk.v1.billing.meter_event_adjustments.create(
        {"event_name": meter.event_name, "type": "cancel",
         "cancel": {"identifier": mistake.identifier}}
    )  # fmt: skip
    used = 7000 + 4000 + 1345

    # Mid-period, the preview shows the usage so far.
    preview = sdk.v1.invoices.create_preview({"subscription": subscription.id})
    previewed = _line_of(preview, usage_item.id)
    assert (previewed.quantity, previewed.amount) == (used, _graduated_usage_cents(used))

    sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": period_end + HOUR})
    renewal = next(
        invoice
        for invoice in sdk.v1.invoices.list({"customer": customer.id}).data
        if invoice.billing_reason == "subscription_cycle"
    )
    usage_line = _line_of(renewal, usage_item.id)
    flat_line = _line_of(renewal, flat_item.id)

    assert usage_line.amount == _graduated_usage_cents(used) == 469
    assert usage_line.quantity == used
    assert usage_line.quantity_decimal == Decimal(used)
    assert (usage_line.period.start, usage_line.period.end) == (start, period_end)
    assert usage_line.pricing.price_details.price == usage.id
    assert usage_line.parent.subscription_item_details.proration is False
    assert (flat_line.amount, flat_line.period.start) == (2000, period_end)
    assert renewal.total == 2000 + 469
    assert renewal.status == "paid"

    # The new period starts counting afresh.
    sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": period_end + 2 * DAY})
    _record(sdk, meter, customer.id, "20000")
    following = sdk.v1.invoices.create_preview({"subscription": subscription.id})
    assert _line_of(following, usage_item.id).amount == _graduated_usage_cents(20000) == 2000


def _line_of(invoice: stripe.Invoice, item_id: str) -> Any:
    return next(
        line
        for line in invoice.lines.data
        if line.parent.subscription_item_details.subscription_item == item_id
    )


def test_metered_items_take_no_quantity_and_are_never_prorated(sdk: stripe.StripeClient) -> None:
    meter, flat, usage = _flat_and_usage(sdk)
    customer = _customer(sdk)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.subscriptions.create(
            {"customer": customer.id,
             "items": [{"price": flat.id}, {"price": usage.id, "quantity": 1}]}
        )  # fmt: skip
    assert _error(refused)["message"] == (
        "Quantity should not be specified where usage_type is `metered`. "
        "Remove quantity from `items[1]`."
    )
    assert _error(refused)["param"] == "items[1][quantity]"
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": flat.id}, {"price": usage.id}]}
    )
    flat_item, usage_item = subscription["items"].data
    dearer = _usage_price(sdk, flat.product, meter.id)
    bigger = sdk.v1.prices.create(
        {"product": flat.product, "currency": "usd", "unit_amount": 5000,
         "recurring": {"interval": "month"}}
    )  # fmt: skip

    sdk.v1.subscriptions.update(
        subscription.id,
        {"items": [{"id": flat_item.id, "price": bigger.id},
                   {"id": usage_item.id, "price": dearer.id}],
         "proration_behavior": "create_prorations"},
    )  # fmt: skip

    pending = sdk.v1.invoice_items.list({"customer": customer.id, "pending": True}).data
    prorated = {item.parent.subscription_details.subscription_item for item in pending}
    assert prorated == {flat_item.id}
    assert "quantity" not in sdk.v1.subscription_items.retrieve(usage_item.id).to_dict()
    with pytest.raises(stripe.InvalidRequestError):
        sdk.v1.subscription_items.update(usage_item.id, {"quantity": 3})


def test_checkout_takes_a_metered_price_without_quantity_and_shows_its_terms(
    sdk: stripe.StripeClient,
) -> None:
    _, flat, usage = _flat_and_usage(sdk)
    common = {"mode": "subscription", "success_url": "http://127.0.0.1:9/ok",
              "cancel_url": "http://127.0.0.1:9/back",
              "customer_email": f"meter-{uuid.uuid4().hex[:8]}@example.com"}  # fmt: skip
    with pytest.raises(stripe.InvalidRequestError) as refused:
        sdk.v1.checkout.sessions.create(
            {**common, "line_items": [{"price": flat.id, "quantity": 1},
                                      {"price": usage.id, "quantity": 1}]}
        )  # fmt: skip
    assert _error(refused)["message"] == (
        "Quantity should not be specified where usage_type is `metered`. "
        "Remove quantity from `line_items[1]`."
    )

    session = sdk.v1.checkout.sessions.create(
        {**common, "line_items": [{"price": flat.id, "quantity": 1}, {"price": usage.id}]}
    )
    page = get_page(session.url)
    paid = post_form(session.url, VISA)

    assert session.amount_total == 2000
    assert "Usage-based, $0.002 per unit after 10,000" in page.text
    assert paid.status == 303, paid.text
    done = sdk.v1.checkout.sessions.retrieve(session.id, {"expand": ["subscription"]})
    items = done.subscription["items"].data
    assert [item.price.id for item in items] == [flat.id, usage.id]
    assert "quantity" not in items[1].to_dict()
    portal = sdk.v1.billing_portal.sessions.create(
        {"customer": done.customer, "return_url": "http://127.0.0.1:9/account"}
    )
    assert "Usage-based, $0.002 per unit after 10,000" in get_page(portal.url).text


def test_the_portal_does_not_change_a_usage_based_plan(sdk: stripe.StripeClient) -> None:
    _, flat, usage = _flat_and_usage(sdk)
    customer = _customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": usage.id}]}
    )
    configuration = sdk.v1.billing_portal.configurations.create(
        {"features": {"subscription_update": {
            "enabled": True, "default_allowed_updates": ["price"],
            "products": [{"product": flat.product, "prices": [flat.id, usage.id]}]}}}
    )  # fmt: skip
    portal = sdk.v1.billing_portal.sessions.create(
        {"customer": customer.id, "configuration": configuration.id,
         "return_url": "http://127.0.0.1:9/account"}
    )  # fmt: skip

    page = get_page(f"{portal.url}/subscriptions/{subscription.id}/update")

    assert page.status == 400
    assert "billed by usage" in page.text
    assert sdk.v1.subscriptions.retrieve(subscription.id)["items"].data[0].price.id == usage.id
