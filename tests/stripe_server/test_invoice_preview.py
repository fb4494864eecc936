"""`POST /v1/invoices/create_preview`: the invoice a change would make, to the cent, and nothing
kept.

Subscriptions live on test clocks, so the period is exact; every amount below is worked out
here from the seconds left in the period, not asked of the server.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import stripe

from stripe_server.testing import LocalStripe
from tests.stripe_server.subscribers import (
    DAY,
    FEB_1_2026,
    JAN_1_2026,
    JAN_11_2026,
    MAR_1_2026,
    card_customer,
    graduated_seats_price,
    line_summary,
    product_create,
    recurring_price,
    subscriber_on_clock,
)

NOW = JAN_11_2026
# The moment a customer looked at the preview: 10 January, 08:20:33.
PRORATION_DATE = JAN_1_2026 + 9 * DAY + 8 * 3600 + 20 * 60 + 33
OLD_VERSION = "2024-09-30.acacia"


def _share(total: int) -> int:
    """Stripe's per-second proration of `total` for what is left of January."""
    return round(total * (FEB_1_2026 - PRORATION_DATE) / (FEB_1_2026 - JAN_1_2026))


def _item(subscription: stripe.Subscription) -> str:
    return subscription["items"].data[0].id


def test_an_upgrade_previewed_with_always_invoice_is_the_invoice_the_update_makes(
    sdk: stripe.StripeClient,
) -> None:
    product = product_create(sdk, "Preview")
    basic, pro = recurring_price(sdk, product, 2000), recurring_price(sdk, product, 5000)
    subscription = subscriber_on_clock(sdk, basic).subscription
    change = {
        "items": [{"id": _item(subscription), "price": pro.id}],
        "proration_behavior": "always_invoice",
        "proration_date": PRORATION_DATE,
    }

    preview = sdk.v1.invoices.create_preview(
        {"subscription": subscription.id, "subscription_details": change}
    )
    updated = sdk.v1.subscriptions.update(subscription.id, change)
    invoice = sdk.v1.invoices.retrieve(updated.latest_invoice)

    expected = [
        (-_share(2000), True, PRORATION_DATE, FEB_1_2026),
        (_share(5000), True, PRORATION_DATE, FEB_1_2026),
    ]
    assert line_summary(preview) == line_summary(invoice) == expected
    assert preview.total == invoice.total == _share(5000) - _share(2000)
    assert preview.amount_due == invoice.amount_paid == preview.total
    assert preview.id.startswith("upcoming_in")
    assert preview.status == "draft"
    assert preview.billing_reason == "upcoming"
    assert preview.number is None
    assert preview.parent.subscription_details.subscription == subscription.id
    assert preview.parent.subscription_details.subscription_proration_date == PRORATION_DATE


def test_a_graduated_seat_increase_previews_the_next_invoice_the_renewal_then_makes(
    sdk: stripe.StripeClient,
) -> None:
    seats = graduated_seats_price(sdk, product_create(sdk, "Preview"))
    who = subscriber_on_clock(sdk, seats, quantity=3)
    subscription = who.subscription
    change = {
        "items": [{"id": _item(subscription), "quantity": 7}],
        "proration_date": PRORATION_DATE,
    }

    preview = sdk.v1.invoices.create_preview(
        {"subscription": subscription.id, "subscription_details": change}
    )
    sdk.v1.subscriptions.update(subscription.id, change)
    sdk.v1.test_helpers.test_clocks.advance(who.clock, {"frozen_time": FEB_1_2026 + 3600})
    renewal = sdk.v1.invoices.retrieve(
        sdk.v1.subscriptions.retrieve(subscription.id).latest_invoice
    )

    three_seats, seven_seats = 3 * 1000, 5 * 1000 + 2 * 800
    expected = [
        (-_share(three_seats), True, PRORATION_DATE, FEB_1_2026),
        (_share(seven_seats), True, PRORATION_DATE, FEB_1_2026),
        (seven_seats, False, FEB_1_2026, MAR_1_2026),
    ]
    assert line_summary(preview) == line_summary(renewal) == expected
    assert preview.total == renewal.total == seven_seats + _share(seven_seats) - _share(3000)
    assert renewal.billing_reason == "subscription_cycle"


def test_monthly_to_yearly_previews_the_credit_and_the_full_year_from_a_new_anchor(
    sdk: stripe.StripeClient,
) -> None:
    product = product_create(sdk, "Preview")
    monthly, yearly = (
        recurring_price(sdk, product, 2000),
        recurring_price(sdk, product, 20000, "year"),
    )
    subscription = subscriber_on_clock(sdk, monthly).subscription
    change = {
        "items": [{"id": _item(subscription), "price": yearly.id}],
        "proration_date": PRORATION_DATE,
    }

    preview = sdk.v1.invoices.create_preview(
        {"subscription": subscription.id, "subscription_details": change}
    )
    updated = sdk.v1.subscriptions.update(subscription.id, change)
    invoice = sdk.v1.invoices.retrieve(updated.latest_invoice)

    year_end = NOW + 365 * DAY
    expected = [
        (-_share(2000), True, PRORATION_DATE, FEB_1_2026),
        (20000, False, NOW, year_end),
    ]
    assert line_summary(preview) == line_summary(invoice) == expected
    assert (preview.period_start, preview.period_end) == (NOW, year_end)
    assert preview.total == invoice.total == 20000 - _share(2000)
    assert updated.billing_cycle_anchor == NOW


def test_a_preview_takes_the_customers_credit_as_finalizing_would(
    sdk: stripe.StripeClient,
) -> None:
    product = product_create(sdk, "Preview")
    basic, pro, cheap = (recurring_price(sdk, product, amount) for amount in (2000, 5000, 500))
    subscription = subscriber_on_clock(sdk, basic).subscription
    # $15 of credit, given after the first invoice was paid.
    sdk.v1.customers.balance_transactions.create(
        subscription.customer, {"amount": -1500, "currency": "usd"}
    )
    upgrade = {
        "items": [{"id": _item(subscription), "price": pro.id}],
        "proration_behavior": "always_invoice",
        "proration_date": PRORATION_DATE,
    }
    downgrade = {**upgrade, "items": [{"id": _item(subscription), "price": cheap.id}]}

    up = sdk.v1.invoices.create_preview(
        {"subscription": subscription.id, "subscription_details": upgrade}
    )
    down = sdk.v1.invoices.create_preview(
        {"subscription": subscription.id, "subscription_details": downgrade}
    )

    upgrade_total = _share(5000) - _share(2000)
    assert (up.starting_balance, up.ending_balance) == (-1500, None)
    assert up.total == upgrade_total
    assert up.amount_due == max(upgrade_total - 1500, 0)
    downgrade_total = _share(500) - _share(2000)
    assert down.total == downgrade_total < 0
    assert down.amount_due == 0
    assert sdk.v1.customers.retrieve(subscription.customer).balance == -1500
    updated = sdk.v1.subscriptions.update(subscription.id, upgrade)
    invoice = sdk.v1.invoices.retrieve(updated.latest_invoice)
    assert (invoice.starting_balance, invoice.amount_due) == (-1500, up.amount_due)


def test_a_preview_changes_nothing(sdk: stripe.StripeClient) -> None:
    product = product_create(sdk, "Preview")
    basic, pro = recurring_price(sdk, product, 2000), recurring_price(sdk, product, 5000)
    customer = card_customer(sdk, balance=-700)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": basic.id}]}
    )
    # Not the newest event's time: other tests' test clocks may have dated theirs later.
    started = subscription.created

    def state() -> tuple:
        events = sdk.v1.events.list({"created": {"gte": started}, "limit": 100})
        return (
            sorted(event.id for event in events.auto_paging_iter()),
            [i.id for i in sdk.v1.invoices.list({"customer": customer.id}).data],
            [i.id for i in sdk.v1.invoice_items.list({"customer": customer.id}).data],
            sdk.v1.customers.retrieve(customer.id).balance,
            [t.id for t in sdk.v1.customers.balance_transactions.list(customer.id).data],
            sdk.v1.subscriptions.retrieve(subscription.id).to_dict(),
        )

    before = state()
    for behavior in ("always_invoice", "create_prorations", "none"):
        sdk.v1.invoices.create_preview(
            {
                "subscription": subscription.id,
                "subscription_details": {
                    "items": [{"id": _item(subscription), "price": pro.id}],
                    "proration_behavior": behavior,
                },
            }
        )
    sdk.v1.invoices.create_preview({"customer": customer.id})

    assert state() == before


def test_without_prorations_the_preview_is_the_next_period_at_the_new_price(
    sdk: stripe.StripeClient,
) -> None:
    product = product_create(sdk, "Preview")
    basic, pro = recurring_price(sdk, product, 2000), recurring_price(sdk, product, 5000)
    subscription = subscriber_on_clock(sdk, basic).subscription

    preview = sdk.v1.invoices.create_preview(
        {
            "subscription": subscription.id,
            "subscription_details": {
                "items": [{"id": _item(subscription), "price": pro.id}],
                "proration_behavior": "none",
            },
        }
    )
    plain = sdk.v1.invoices.create_preview({"subscription": subscription.id})

    assert line_summary(preview) == [(5000, False, FEB_1_2026, MAR_1_2026)]
    assert line_summary(plain) == [(2000, False, FEB_1_2026, MAR_1_2026)]
    assert plain.parent.subscription_details.subscription_proration_date is None


def test_a_new_subscription_is_previewed_without_creating_one(sdk: stripe.StripeClient) -> None:
    seats = graduated_seats_price(sdk, product_create(sdk, "Preview"))
    flat = recurring_price(sdk, product_create(sdk, "Preview"), 1200)
    customer = card_customer(sdk)

    preview = sdk.v1.invoices.create_preview(
        {
            "customer": customer.id,
            "subscription_details": {
                "items": [{"price": seats.id, "quantity": 7}, {"price": flat.id}]
            },
        }
    )

    assert sorted(line.amount for line in preview.lines.data) == [1200, 5 * 1000 + 2 * 800]
    assert preview.total == preview.amount_due == 1200 + 6600
    assert preview.parent is None
    assert all(line.parent.subscription_item_details.subscription is None for line in preview.lines)
    assert sdk.v1.subscriptions.list({"customer": customer.id, "status": "all"}).data == []
    assert sdk.v1.invoices.list({"customer": customer.id}).data == []


def test_a_preview_cannot_be_retrieved_or_paid(sdk: stripe.StripeClient) -> None:
    price = recurring_price(sdk, product_create(sdk, "Preview"), 900)
    customer = card_customer(sdk)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}]}
    )
    preview = sdk.v1.invoices.create_preview({"subscription": subscription.id})

    for attempt in (sdk.v1.invoices.retrieve, sdk.v1.invoices.pay):
        with pytest.raises(stripe.InvalidRequestError) as missing:
            attempt(preview.id)
        assert missing.value.http_status == 404


def test_preview_errors_name_the_preview_parameters(sdk: stripe.StripeClient) -> None:
    product = product_create(sdk, "Preview")
    basic, pro = recurring_price(sdk, product, 2000), recurring_price(sdk, product, 5000)
    subscription = subscriber_on_clock(sdk, basic).subscription
    item = _item(subscription)

    with pytest.raises(stripe.InvalidRequestError) as outside:
        sdk.v1.invoices.create_preview(
            {
                "subscription": subscription.id,
                "subscription_details": {
                    "items": [{"id": item, "price": pro.id}],
                    "proration_date": FEB_1_2026 + DAY,
                },
            }
        )
    with pytest.raises(stripe.InvalidRequestError) as unknown_price:
        sdk.v1.invoices.create_preview(
            {
                "subscription": subscription.id,
                "subscription_details": {"items": [{"id": item, "price": "price_missing0"}]},
            }
        )

    assert outside.value.param == "subscription_details[proration_date]"
    assert unknown_price.value.param == "subscription_details[items][0][price]"


def test_an_old_version_flags_preview_prorations_with_proration_and_type(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    product = product_create(sdk, "Preview")
    basic, pro = recurring_price(sdk, product, 2000), recurring_price(sdk, product, 5000)
    subscription = subscriber_on_clock(sdk, basic).subscription
    form = {
        "subscription": subscription.id,
        "subscription_details[items][0][id]": _item(subscription),
        "subscription_details[items][0][price]": pro.id,
        "subscription_details[proration_date]": str(PRORATION_DATE),
    }

    def preview(version: str) -> dict[str, Any]:
        answer = requests.post(
            f"{local_stripe.api_base}/v1/invoices/create_preview",
            data=form,
            headers={
                "Authorization": f"Bearer {local_stripe.api_key}",
                "Stripe-Version": version,
            },
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    old, today = preview(OLD_VERSION), preview(stripe.api_version)

    assert sorted(
        (line["amount"], line["proration"], line["type"]) for line in old["lines"]["data"]
    ) == [
        (-_share(2000), True, "invoiceitem"),
        (_share(5000), True, "invoiceitem"),
        (5000, False, "subscription"),
    ]
    assert old["subscription"] == subscription.id
    assert old["subscription_proration_date"] == PRORATION_DATE
    assert "parent" not in old
    for line in today["lines"]["data"]:
        assert "proration" not in line and "type" not in line
    details = today["parent"]["subscription_details"]
    assert details["subscription_proration_date"] == PRORATION_DATE
    assert "subscription" not in today
