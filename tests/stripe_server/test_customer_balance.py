"""The customer balance: its transactions, and invoices that take credit in and leave it there.

Subscriptions live on their own test clocks, so "now" is exact and every proration, credit and
charge below is worked out here from the period's seconds, not asked of the server.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import stripe

from tests.stripe_server.subscribers import (
    DAY,
    FEB_1_2026,
    JAN_1_2026,
    MAR_1_2026,
    product_create,
    subscriber_on_clock,
)

JAN_16_2026 = JAN_1_2026 + 15 * DAY
# Downgrading on 16 January leaves 16 of January's 31 days unused.
UNUSED = (FEB_1_2026 - JAN_16_2026) / (FEB_1_2026 - JAN_1_2026)
CREDIT_100 = -round(10000 * UNUSED)  # -5161: the unused time on $100
CHARGE_30 = round(3000 * UNUSED)  # 1548: the rest of January on $30
CHARGE_80 = round(8000 * UNUSED)  # 4129: the rest of January on $80

# Every field of the SDK's type (its class annotations), so the object is whole.
TRANSACTION_FIELDS = {
    name for name in stripe.CustomerBalanceTransaction.__annotations__ if name != "OBJECT_NAME"
}


def _price(sdk: stripe.StripeClient, product: str, amount: int) -> stripe.Price:
    return sdk.v1.prices.create(
        {"product": product, "currency": "usd", "unit_amount": amount,
         "recurring": {"interval": "month"}}
    )  # fmt: skip


def _customer(sdk: stripe.StripeClient, **extra: Any) -> stripe.Customer:
    return sdk.v1.customers.create(
        {"email": f"balance-{uuid.uuid4().hex[:8]}@example.com", **extra}
    )


def _downgraded(
    sdk: stripe.StripeClient, new_amount: int
) -> tuple[str, str, stripe.Subscription, stripe.Invoice]:
    """A $100/month subscriber from 1 Jan 2026 moved to `new_amount` on 16 Jan, invoiced now:
    the clock's and the customer's ids, the subscription and that invoice."""
    product = product_create(sdk, "Balance")
    dear, cheap = _price(sdk, product, 10000), _price(sdk, product, new_amount)
    who = subscriber_on_clock(sdk, dear, now=JAN_16_2026)
    item = who.subscription["items"].data[0]
    downgraded = sdk.v1.subscriptions.update(
        who.subscription.id,
        {
            "items": [{"id": item.id, "price": cheap.id}],
            "proration_behavior": "always_invoice",
        },
    )
    invoice = sdk.v1.invoices.retrieve(downgraded.latest_invoice)
    return who.clock, who.customer, downgraded, invoice


def _transactions(sdk: stripe.StripeClient, customer_id: str) -> list:
    listed = sdk.v1.customers.balance_transactions.list(customer_id, {"limit": 100})
    return list(listed.data)


def _balance_updates(sdk: stripe.StripeClient, customer_id: str) -> list[tuple[int, int]]:
    """(previous, new) balance of each `customer.updated` about this customer's balance."""
    # Every page: a test clock's events carry its (past) time, behind the session's newer ones.
    listed = sdk.v1.events.list({"type": "customer.updated", "limit": 100}).auto_paging_iter()
    return [
        (event.data.previous_attributes["balance"], event.data.object["balance"])
        for event in listed
        if event.data.object.get("id") == customer_id
        and "balance" in event.data.to_dict().get("previous_attributes", {})
    ]


def _renew(sdk: stripe.StripeClient, clock: str, subscription_id: str, at: int) -> stripe.Invoice:
    sdk.v1.test_helpers.test_clocks.advance(clock, {"frozen_time": at})
    renewed = sdk.v1.subscriptions.retrieve(subscription_id)
    invoice = sdk.v1.invoices.retrieve(renewed.latest_invoice)
    assert (invoice.billing_reason, invoice.period_start) == ("subscription_cycle", at)
    return invoice


# --- balance transactions through the API ---------------------------------------------------


def test_balance_transactions_are_created_listed_retrieved_and_updated(
    sdk: stripe.StripeClient,
) -> None:
    customer = _customer(sdk)
    transactions = sdk.v1.customers.balance_transactions

    credit = transactions.create(
        customer.id,
        {"amount": -2500, "currency": "usd", "description": "Goodwill",
         "metadata": {"ticket": "42"}},
    )  # fmt: skip
    debit = transactions.create(customer.id, {"amount": 1000, "currency": "usd"})

    assert credit.id.startswith("cbtxn_")
    assert set(credit.to_dict()) == TRANSACTION_FIELDS
    assert (credit.object, credit.type, credit.amount, credit.ending_balance) == (
        "customer_balance_transaction",
        "adjustment",
        -2500,
        -2500,
    )
    assert (credit.customer, credit.currency, credit.invoice) == (customer.id, "usd", None)
    assert (credit.description, credit.metadata.to_dict()) == ("Goodwill", {"ticket": "42"})
    assert (debit.amount, debit.ending_balance) == (1000, -2500 + 1000)
    after = sdk.v1.customers.retrieve(customer.id)
    assert (after.balance, after.currency) == (-1500, "usd")
    assert [t.id for t in _transactions(sdk, customer.id)] == [debit.id, credit.id]
    first_page = transactions.list(customer.id, {"limit": 1})
    assert ([t.id for t in first_page.data], first_page.has_more) == ([debit.id], True)
    second_page = transactions.list(customer.id, {"limit": 1, "starting_after": debit.id})
    assert ([t.id for t in second_page.data], second_page.has_more) == ([credit.id], False)

    updated = transactions.update(
        customer.id, credit.id, {"description": "Sorry", "metadata": {"ticket": ""}}
    )

    assert (updated.description, updated.metadata.to_dict()) == ("Sorry", {})
    assert updated.amount == -2500
    fetched = transactions.retrieve(customer.id, credit.id)
    assert fetched.to_dict() == updated.to_dict()
    assert sdk.v1.customers.retrieve(customer.id).balance == -1500
    assert _balance_updates(sdk, customer.id) == [(-2500, -1500), (0, -2500)]


def test_a_transaction_belongs_to_its_customer_and_currency(sdk: stripe.StripeClient) -> None:
    customer, other = _customer(sdk), _customer(sdk)
    transaction = sdk.v1.customers.balance_transactions.create(
        customer.id, {"amount": -100, "currency": "usd"}
    )

    with pytest.raises(stripe.InvalidRequestError) as missing:
        sdk.v1.customers.balance_transactions.retrieve(other.id, transaction.id)
    with pytest.raises(stripe.InvalidRequestError) as wrong_currency:
        sdk.v1.customers.balance_transactions.create(
            customer.id, {"amount": -100, "currency": "eur"}
        )

    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    assert (wrong_currency.value.http_status, wrong_currency.value.param) == (400, "currency")
    assert sdk.v1.customers.retrieve(customer.id).balance == -100


def test_setting_the_balance_records_the_difference(sdk: stripe.StripeClient) -> None:
    customer = _customer(sdk, balance=-700)

    updated = sdk.v1.customers.update(customer.id, {"balance": 300, "name": "Ada"})

    assert (customer.balance, updated.balance) == (-700, 300)
    adjustment, initial = _transactions(sdk, customer.id)
    assert (initial.type, initial.amount, initial.ending_balance) == ("initial", -700, -700)
    assert (adjustment.type, adjustment.amount, adjustment.ending_balance) == (
        "adjustment",
        300 - -700,
        300,
    )
    assert _balance_updates(sdk, customer.id) == [(-700, 300)]


# --- invoices and the balance ---------------------------------------------------------------


def test_an_always_invoiced_downgrade_puts_its_credit_on_the_balance(
    sdk: stripe.StripeClient,
) -> None:
    _, customer, subscription, invoice = _downgraded(sdk, 3000)
    net = CREDIT_100 + CHARGE_30  # -3613

    assert subscription.status == "active"
    assert sorted(line.amount for line in invoice.lines.data) == [CREDIT_100, CHARGE_30]
    assert invoice.total == net
    assert (invoice.amount_due, invoice.amount_paid, invoice.amount_remaining) == (0, 0, 0)
    assert (invoice.starting_balance, invoice.ending_balance) == (0, net)
    assert (invoice.status, invoice.attempt_count) == ("paid", 0)
    assert sdk.v1.customers.retrieve(customer).balance == net
    (transaction,) = _transactions(sdk, customer)
    assert (transaction.type, transaction.amount, transaction.ending_balance) == (
        "applied_to_invoice",
        net,
        net,
    )
    assert (transaction.invoice, transaction.created) == (invoice.id, JAN_16_2026)
    listed = sdk.v1.customers.balance_transactions.list(customer, {"invoice": invoice.id})
    assert [t.id for t in listed.data] == [transaction.id]
    assert _balance_updates(sdk, customer) == [(0, net)]


def test_renewals_use_the_credit_first_and_charge_only_what_is_due(
    sdk: stripe.StripeClient,
) -> None:
    clock, customer, subscription, _ = _downgraded(sdk, 3000)
    credit = CREDIT_100 + CHARGE_30  # -3613, more than one $30 month
    # A card whose charges fail: a renewal the credit covers must not try it.
    failing = sdk.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer})
    sdk.v1.customers.update(customer, {"invoice_settings": {"default_payment_method": failing.id}})

    february = _renew(sdk, clock, subscription.id, FEB_1_2026)

    assert february.total == 3000
    assert february.starting_balance == credit
    assert (february.amount_due, february.amount_paid, february.amount_remaining) == (0, 0, 0)
    assert february.ending_balance == credit + 3000  # -613 left
    assert (february.status, february.attempt_count) == ("paid", 0)
    assert sdk.v1.subscriptions.retrieve(subscription.id).status == "active"
    assert sdk.v1.customers.retrieve(customer).balance == credit + 3000

    visa = sdk.v1.payment_methods.attach("pm_card_visa", {"customer": customer})
    sdk.v1.customers.update(customer, {"invoice_settings": {"default_payment_method": visa.id}})
    march = _renew(sdk, clock, subscription.id, MAR_1_2026)

    left = credit + 3000
    assert (march.total, march.starting_balance, march.ending_balance) == (3000, left, 0)
    assert march.amount_due == 3000 + left  # 2387
    assert (march.amount_paid, march.amount_remaining) == (3000 + left, 0)
    assert (march.status, march.attempt_count) == ("paid", 1)
    assert sdk.v1.customers.retrieve(customer).balance == 0
    moves = [(t.type, t.amount, t.ending_balance, t.invoice) for t in _transactions(sdk, customer)]
    assert moves[:2] == [
        ("applied_to_invoice", -left, 0, march.id),
        ("applied_to_invoice", 3000, left, february.id),
    ]
    assert len(moves) == 3
    assert _balance_updates(sdk, customer) == [(left, 0), (credit, left), (0, credit)]


def test_a_renewal_dearer_than_the_credit_is_charged_the_difference(
    sdk: stripe.StripeClient,
) -> None:
    clock, customer, subscription, downgrade = _downgraded(sdk, 8000)
    credit = CREDIT_100 + CHARGE_80  # -1032

    february = _renew(sdk, clock, subscription.id, FEB_1_2026)

    assert (downgrade.amount_due, downgrade.ending_balance) == (0, credit)
    assert (february.starting_balance, february.ending_balance) == (credit, 0)
    assert february.amount_due == 8000 + credit  # 6968
    assert (february.amount_paid, february.status, february.attempt_count) == (
        8000 + credit,
        "paid",
        1,
    )
    assert sdk.v1.customers.retrieve(customer).balance == 0


def test_credit_pays_a_new_subscription_without_a_card(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create({"name": f"Balance {uuid.uuid4().hex[:6]}"}).id
    price = _price(sdk, product, 3000)
    customer = _customer(sdk, balance=-5000)

    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}]}
    )

    invoice = sdk.v1.invoices.retrieve(subscription.latest_invoice)
    assert subscription.status == "active"
    assert (invoice.starting_balance, invoice.ending_balance) == (-5000, -5000 + 3000)
    assert (invoice.amount_due, invoice.amount_paid, invoice.status) == (0, 0, "paid")
    assert sdk.v1.customers.retrieve(customer.id).balance == -2000


def test_voiding_an_open_invoice_gives_its_credit_back(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create({"name": f"Balance {uuid.uuid4().hex[:6]}"}).id
    price = _price(sdk, product, 3000)
    customer = _customer(sdk, balance=-1000)
    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id}],
            "payment_behavior": "default_incomplete",
        }
    )
    invoice = sdk.v1.invoices.retrieve(subscription.latest_invoice)
    assert (invoice.status, invoice.amount_due, invoice.amount_remaining) == ("open", 2000, 2000)
    assert (invoice.starting_balance, invoice.ending_balance) == (-1000, 0)
    assert sdk.v1.customers.retrieve(customer.id).balance == 0

    sdk.v1.invoices.void_invoice(invoice.id)

    assert sdk.v1.customers.retrieve(customer.id).balance == -1000
    unapplied, applied, _initial = _transactions(sdk, customer.id)
    assert (applied.type, applied.amount, applied.invoice) == (
        "applied_to_invoice",
        1000,
        invoice.id,
    )
    assert (unapplied.type, unapplied.amount, unapplied.ending_balance, unapplied.invoice) == (
        "unapplied_from_invoice",
        -1000,
        -1000,
        invoice.id,
    )


def test_an_expired_first_invoice_gives_its_credit_back(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create({"name": f"Balance {uuid.uuid4().hex[:6]}"}).id
    price = _price(sdk, product, 3000)
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": JAN_1_2026})
    customer = _customer(sdk, test_clock=clock.id, balance=-1000)
    subscription = sdk.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id}],
            "payment_behavior": "default_incomplete",
        }
    )

    # An incomplete subscription's first invoice is voided after 23 hours.
    sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": JAN_1_2026 + DAY})

    assert sdk.v1.subscriptions.retrieve(subscription.id).status == "incomplete_expired"
    invoice = sdk.v1.invoices.retrieve(subscription.latest_invoice)
    assert (invoice.status, invoice.starting_balance, invoice.ending_balance) == ("void", -1000, 0)
    assert sdk.v1.customers.retrieve(customer.id).balance == -1000
    moves = [(t.type, t.amount, t.ending_balance) for t in _transactions(sdk, customer.id)]
    assert moves == [
        ("unapplied_from_invoice", -1000, -1000),
        ("applied_to_invoice", 1000, 0),
        ("initial", -1000, -1000),
    ]
