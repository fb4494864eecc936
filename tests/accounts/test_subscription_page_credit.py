"""The status page shows credit on the customer's Stripe balance, and credit invoices as credit.

The downgrade happens on a test clock, so its proration credit is worked out here to the cent.
"""

from __future__ import annotations

import re

import pytest

from accounts.billing.checkout import holder_subscription_sync
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import (
    FEB_1_2026,
    JAN_1_2026,
    JAN_16_2026,
    clock_customer_create,
    plan_price_create,
    subscription_start,
)

pytestmark = pytest.mark.django_db

STATUS_PAGE = "/subscription/"
INVOICES = "/subscription/invoices/"


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def _invoice_rows(page: str) -> list[str]:
    return re.findall(r"<tr[^>]*data-invoice>(.*?)</tr>", page, flags=re.S)


def test_a_downgrade_credit_shows_as_credit_not_as_a_negative_payment(
    stripe_settings, logged_in, user
):
    client = stripe_client()
    dear = plan_price_create(unit_amount=10000)
    cheap = plan_price_create(unit_amount=3000, product=dear.product.id)
    clock = clock_customer_create(holder=user, frozen_time=JAN_1_2026)
    subscription_id = subscription_start(holder=user, price=dear)
    client.v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": JAN_16_2026})
    item = client.v1.subscriptions.retrieve(subscription_id)["items"].data[0]
    client.v1.subscriptions.update(
        subscription_id,
        params={
            "items": [{"id": item.id, "price": cheap.id}],
            "proration_behavior": "always_invoice",
        },
    )
    holder_subscription_sync(holder=user)

    page = logged_in.get(STATUS_PAGE).text

    # 16 of January's 31 days unused: $100's credited, $30's charged for them.
    unused = (FEB_1_2026 - JAN_16_2026) / (FEB_1_2026 - JAN_1_2026)
    credit = round(10000 * unused) - round(3000 * unused)  # 3613
    credit_text = f"${credit // 100}.{credit % 100:02d}"  # "$36.13"
    assert f"{credit_text} credit, applied to your next invoices" in page
    invoices = logged_in.get(INVOICES).text
    downgrade_row, first_row = _invoice_rows(invoices)
    assert f"&minus;{credit_text} credited to your balance" in downgrade_row
    assert "Paid" not in downgrade_row
    assert f"-{credit_text}" not in invoices and f"-${credit // 100}" not in invoices
    assert "$100" in first_row and "Paid" in first_row


def test_credit_in_a_zero_decimal_currency_has_no_cents(stripe_settings, logged_in, user):
    price = plan_price_create(unit_amount=1500, currency="jpy")
    subscription_start(holder=user, price=price)
    stripe_client().v1.customers.balance_transactions.create(
        user.customer.id, params={"amount": -500, "currency": "jpy"}
    )
    holder_subscription_sync(holder=user)

    page = logged_in.get(STATUS_PAGE).text

    assert "¥500 credit, applied to your next invoices" in page


def test_no_credit_line_without_credit(stripe_settings, logged_in, user):
    price = plan_price_create()
    subscription_start(holder=user, price=price)

    page = logged_in.get(STATUS_PAGE).text

    assert "data-credit" not in page
    assert "data-invoice-credit" not in logged_in.get(INVOICES).text
