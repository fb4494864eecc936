"""Hosted invoice pages and invoice PDFs: an invoice's `hosted_invoice_url` and `invoice_pdf`."""

from __future__ import annotations

import re
import time
import uuid

import stripe

from stripe_server.testing import LocalStripe
from tests.stripe_server.hosted_pages import get_document, get_page, post_form
from tests.stripe_server.pdf_checks import assert_xref_points_at_objects

DAY = 86400
ACCOUNT = "acct_1PortalLocalStripe0"
GOOD_CARD = {
    "pay_with": "card",
    "card_number": "4242 4242 4242 4242",
    "card_expiry": "12 / 34",
    "card_cvc": "123",
    "card_name": "Ada Lovelace",
}


def _price(sdk: stripe.StripeClient, amount: int, currency: str = "usd") -> stripe.Price:
    product = sdk.v1.products.create({"name": f"Plan {uuid.uuid4().hex[:6]}"})
    return sdk.v1.prices.create(
        {"product": product.id, "currency": currency, "unit_amount": amount,
         "recurring": {"interval": "month"}}
    )  # fmt: skip


def _customer(sdk: stripe.StripeClient, card: str = "pm_card_visa", **extra: str):
    return sdk.v1.customers.create(
        {
            "email": f"invoice-{uuid.uuid4().hex[:8]}@example.com",
            "payment_method": card,
            "invoice_settings": {"default_payment_method": card},
            **extra,
        }
    )


def _paid_invoice(sdk: stripe.StripeClient, items: list[dict]) -> stripe.Invoice:
    customer = _customer(sdk)
    subscription = sdk.v1.subscriptions.create({"customer": customer.id, "items": items})
    return sdk.v1.invoices.retrieve(subscription.latest_invoice)


def _event_object(sdk: stripe.StripeClient, event_type: str, object_id: str) -> dict:
    listed = sdk.v1.events.list({"type": event_type, "limit": 100}).auto_paging_iter()
    return next(e.data.object for e in listed if e.data.object.get("id") == object_id)


def _by_id(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', page)
    assert found, f"no #{element_id} on the page"
    return found.group(1)


def _past_due_invoice(sdk: stripe.StripeClient) -> tuple[stripe.Invoice, str]:
    """A renewal that failed on a card that declines charges: open, subscription past_due."""
    frozen = int(time.time())
    clock = sdk.v1.test_helpers.test_clocks.create({"frozen_time": frozen})
    customer = _customer(sdk, "pm_card_chargeCustomerFail", test_clock=clock.id)
    subscription = sdk.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": _price(sdk, 1200).id}],
         "trial_period_days": 1}
    )  # fmt: skip
    sdk.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": frozen + 2 * DAY})
    renewed = sdk.v1.subscriptions.retrieve(subscription.id)
    assert renewed.status == "past_due"
    invoice = sdk.v1.invoices.retrieve(renewed.latest_invoice)
    assert invoice.status == "open"
    return invoice, subscription.id


def test_a_finalized_invoice_has_page_and_pdf_urls_its_draft_had_none(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    invoice = _paid_invoice(sdk, [{"price": _price(sdk, 2000).id}])

    page_url = re.fullmatch(
        rf"{re.escape(local_stripe.api_base)}/i/{ACCOUNT}/(test_[A-Za-z0-9]{{32}})",
        invoice.hosted_invoice_url,
    )
    assert page_url, invoice.hosted_invoice_url
    token = page_url.group(1)
    assert invoice.id not in token
    assert invoice.invoice_pdf == f"{local_stripe.api_base}/invoice/{ACCOUNT}/{token}/pdf"
    draft = _event_object(sdk, "invoice.created", invoice.id)
    assert draft["status"] == "draft"
    assert draft["hosted_invoice_url"] is None
    assert draft["invoice_pdf"] is None
    finalized = _event_object(sdk, "invoice.finalized", invoice.id)
    assert finalized["hosted_invoice_url"] == invoice.hosted_invoice_url
    assert finalized["invoice_pdf"] == invoice.invoice_pdf


def test_each_invoice_gets_its_own_token(sdk: stripe.StripeClient) -> None:
    price = _price(sdk, 500)
    first = _paid_invoice(sdk, [{"price": price.id}])
    second = _paid_invoice(sdk, [{"price": price.id}])

    assert first.hosted_invoice_url != second.hosted_invoice_url
    assert _by_id(get_page(first.hosted_invoice_url).text, "invoice-number") == first.number
    assert _by_id(get_page(second.hosted_invoice_url).text, "invoice-number") == second.number


def test_the_hosted_page_shows_the_invoice_its_lines_and_totals(sdk: stripe.StripeClient) -> None:
    plan, seats = _price(sdk, 2000), _price(sdk, 750)
    invoice = _paid_invoice(sdk, [{"price": plan.id, "quantity": 2}, {"price": seats.id,
                                                                       "quantity": 3}])  # fmt: skip
    # 2 x $20.00 and 3 x $7.50, worked out here rather than read from the invoice.
    expected_total = 2 * 2000 + 3 * 750
    assert invoice.total == expected_total

    response = get_page(invoice.hosted_invoice_url)
    page = response.text

    assert response.status == 200
    assert response.content_type.startswith("text/html")
    assert _by_id(page, "invoice-number") == invoice.number
    assert _by_id(page, "account-name") == "Portal (local Stripe)"
    assert _by_id(page, "customer-email") == invoice.customer_email
    assert _by_id(page, "invoice-status") == "Paid"
    lines = re.findall(
        r'<tr data-line><td>([^<]*)<br>.*?<td class="amount">(\d+)</td><td class="amount">'
        r"([^<]*)</td>",
        page,
        re.S,
    )
    assert sorted((quantity, amount) for _, quantity, amount in lines) == [
        ("2", "$40.00"),
        ("3", "$22.50"),
    ]
    assert {description for description, _, _ in lines} == {
        line.description for line in invoice.lines.data
    }
    assert _by_id(page, "subtotal") == "$62.50"
    assert _by_id(page, "total") == "$62.50"
    assert _by_id(page, "amount-due") == "$62.50"
    assert _by_id(page, "amount-paid") == "$62.50"
    assert _by_id(page, "amount-remaining") == "$0.00"
    assert "This invoice has been paid" in page
    assert 'name="pay_with"' not in page


def test_a_zero_decimal_currency_shows_whole_units(sdk: stripe.StripeClient) -> None:
    invoice = _paid_invoice(sdk, [{"price": _price(sdk, 500, "jpy").id, "quantity": 3}])

    page = get_page(invoice.hosted_invoice_url).text

    assert _by_id(page, "total") == "¥1,500"
    assert _by_id(page, "amount-paid") == "¥1,500"


def test_the_pdf_is_a_pdf_of_the_invoice(sdk: stripe.StripeClient) -> None:
    invoice = _paid_invoice(sdk, [{"price": _price(sdk, 1999).id, "quantity": 2}])

    status, content_type, pdf = get_document(invoice.invoice_pdf)

    assert status == 200
    assert content_type == "application/pdf"
    assert pdf.startswith(b"%PDF-")
    assert f"({invoice.number}) Tj".encode() in pdf
    assert b"($39.98) Tj" in pdf
    assert f"({invoice.customer_email}) Tj".encode() in pdf
    assert assert_xref_points_at_objects(pdf) >= 7


def test_the_pay_button_pays_an_open_invoice_after_a_failed_renewal(
    sdk: stripe.StripeClient,
) -> None:
    invoice, subscription_id = _past_due_invoice(sdk)
    page = get_page(invoice.hosted_invoice_url).text
    assert _by_id(page, "invoice-status") == "Open"
    assert _by_id(page, "amount-remaining") == "$12.00"
    assert "Pay $12.00 with Visa ending in 0341" in page
    assert "Pay $12.00 with this card" in page

    # The card on file still declines: shown on the page, and nothing changes.
    declined = post_form(invoice.hosted_invoice_url, {"pay_with": "default"})
    assert declined.status == 402
    assert "Your card was declined." in declined.text
    after_decline = sdk.v1.invoices.retrieve(invoice.id)
    assert after_decline.status == "open"
    assert after_decline.attempt_count == invoice.attempt_count

    paid = post_form(invoice.hosted_invoice_url, GOOD_CARD)

    assert paid.status == 303
    assert invoice.hosted_invoice_url.endswith(paid.location)
    assert sdk.v1.invoices.retrieve(invoice.id).status == "paid"
    assert sdk.v1.subscriptions.retrieve(subscription_id).status == "active"
    paid_events = sdk.v1.events.list({"type": "invoice.paid", "limit": 100}).auto_paging_iter()
    assert [e.data.object.status for e in paid_events if e.data.object.id == invoice.id] == ["paid"]
    page = get_page(invoice.hosted_invoice_url).text
    assert _by_id(page, "invoice-status") == "Paid"
    assert _by_id(page, "amount-paid") == "$12.00"
    assert 'name="pay_with"' not in page


def test_the_card_form_refuses_bad_cards_and_keeps_the_invoice_open(
    sdk: stripe.StripeClient,
) -> None:
    invoice, _ = _past_due_invoice(sdk)

    declined = post_form(
        invoice.hosted_invoice_url, {**GOOD_CARD, "card_number": "4000 0000 0000 0002"}
    )
    expired = post_form(invoice.hosted_invoice_url, {**GOOD_CARD, "card_expiry": "01 / 20"})
    fails_charge = post_form(
        invoice.hosted_invoice_url, {**GOOD_CARD, "card_number": "4000 0000 0000 0341"}
    )

    assert declined.status == 402
    assert "Your card was declined." in declined.text
    assert expired.status == 400
    assert "expiration date is in the past" in expired.text
    assert 'id="card_expiry" name="card_expiry" value="01 / 20"' in expired.text
    assert fails_charge.status == 402
    assert sdk.v1.invoices.retrieve(invoice.id).status == "open"
    # A refused payment saved no card either.
    customer_cards = sdk.v1.payment_methods.list({"customer": invoice.customer}).data
    assert [card.card.last4 for card in customer_cards] == ["0341"]


def test_paying_the_same_invoice_twice_shows_it_paid(sdk: stripe.StripeClient) -> None:
    invoice, _ = _past_due_invoice(sdk)
    assert post_form(invoice.hosted_invoice_url, GOOD_CARD).status == 303

    again = post_form(invoice.hosted_invoice_url, GOOD_CARD)

    assert again.status == 200
    assert "This invoice has been paid" in again.text
    paid_events = sdk.v1.events.list({"type": "invoice.paid", "limit": 100}).auto_paging_iter()
    assert len([e for e in paid_events if e.data.object.id == invoice.id]) == 1


def test_unknown_invoice_links_answer_a_404_page(
    sdk: stripe.StripeClient, local_stripe: LocalStripe
) -> None:
    invoice = _paid_invoice(sdk, [{"price": _price(sdk, 900).id}])
    token = invoice.hosted_invoice_url.rsplit("/", 1)[1]
    base = local_stripe.api_base
    bad_urls = [
        f"{base}/i/{ACCOUNT}/test_{'x' * 32}",
        f"{base}/i/{ACCOUNT}/{invoice.id}",
        f"{base}/i/acct_someoneElse/{token}",
        f"{base}/invoice/{ACCOUNT}/test_{'x' * 32}/pdf",
        f"{base}/invoice/acct_someoneElse/{token}/pdf",
    ]

    for url in bad_urls:
        response = get_page(url)
        assert response.status == 404, url
        assert response.content_type.startswith("text/html"), url
        assert "Invoice not found" in response.text
    posted = post_form(f"{base}/i/{ACCOUNT}/test_{'x' * 32}", GOOD_CARD)
    assert posted.status == 404
