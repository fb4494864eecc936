from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import requests
from django.urls import reverse
from djstripe.models import Invoice

from accounts.teams.services import team_create
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import (
    past_due_subscription_start,
    plan_offer,
    plan_price_create,
    subscription_start,
)

pytestmark = pytest.mark.django_db

STATUS_PAGE = "/subscription/"
INVOICES = "/subscription/invoices/"


def day(timestamp: int) -> str:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return f"{moment:%B} {moment.day}, {moment.year}"


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def test_the_status_page_needs_a_login(client):
    response = client.get(STATUS_PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_without_a_subscription_the_page_shows_the_plans(stripe_settings, logged_in, monkeypatch):
    price = plan_price_create(unit_amount=2500)
    offered = plan_offer(monkeypatch, price)

    response = logged_in.get(STATUS_PAGE)

    assert response.status_code == 200
    assert "You have no subscription yet" in response.text
    assert f'data-subscribe="{offered.slug}"' in response.text
    assert f'value="{price.id}"' in response.text
    assert "Manage billing" not in response.text


def test_an_active_subscription_shows_plan_amount_renewal_card_and_invoices(
    stripe_settings, logged_in, user
):
    price = plan_price_create(unit_amount=1900, interval="month")
    subscription_id = subscription_start(holder=user, price=price, quantity=3)
    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)

    response = logged_in.get(STATUS_PAGE)
    page = response.text

    assert response.status_code == 200
    assert price.product.name in page
    assert 'data-status="active"' in page
    assert "Monthly" in page
    assert '<dd class="font-medium" data-seats>3</dd>' in page
    assert "$57 per month" in page
    assert day(subscription["items"].data[0].current_period_end) in page
    assert "Visa ending in 4242" in page
    assert "Manage billing" in page
    # The page loads its invoices with htmx, as the browser does.
    assert f'hx-get="{INVOICES}" hx-trigger="load"' in page
    invoices = logged_in.get(INVOICES, headers={"HX-Request": "true"}).text
    assert invoices.count("data-invoice>") == 1
    assert "$57" in invoices


def _invoice_rows(page: str) -> dict[str, str]:
    """The invoice table's rows by invoice number (its second cell)."""
    rows = re.findall(r"<tr[^>]*data-invoice>(.*?)</tr>", page, re.S)
    return {re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1].strip(): row for row in rows}


def _links(row: str) -> dict[str, tuple[str, str]]:
    """A row's document links: kind (page, pdf) -> (href, text a screen reader announces)."""
    found = re.findall(r'<a [^>]*href="([^"]+)" data-document="(page|pdf)">(.*?)</a>', row, re.S)
    return {kind: (href, re.sub(r"<[^>]+>", "", text)) for href, kind, text in found}


def test_every_invoice_links_to_its_hosted_page_and_its_pdf(stripe_settings, logged_in, user):
    price = plan_price_create(unit_amount=1200)
    subscription_id = past_due_subscription_start(holder=user, price=price)
    customer_id = stripe_client().v1.subscriptions.retrieve(subscription_id).customer
    synced = Invoice.objects.filter(customer__id=customer_id)

    rows = _invoice_rows(logged_in.get(INVOICES).text)

    assert sorted(rows) == sorted(invoice.stripe_data["number"] for invoice in synced)
    assert rows
    for number, row in rows.items():
        links = _links(row)
        page_url, page_text = links["page"]
        pdf_url, pdf_text = links["pdf"]
        assert page_text == f"View invoice {number}"
        assert pdf_text == f"Download PDF of invoice {number}"
        hosted = requests.get(page_url, timeout=10)
        assert hosted.status_code == 200
        assert f'<span id="invoice-number">{number}</span>' in hosted.text
        pdf = requests.get(pdf_url, timeout=10)
        assert pdf.status_code == 200
        assert pdf.headers["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
        assert f"({number})".encode() in pdf.content


def test_a_draft_invoice_is_listed_without_links(stripe_settings, logged_in, user):
    price = plan_price_create(unit_amount=1200)
    subscription_id = subscription_start(holder=user, price=price)
    client = stripe_client()
    invoice_id = client.v1.subscriptions.retrieve(subscription_id).latest_invoice
    # What an `invoice.created` webhook carries: the invoice while it was still a draft.
    created = client.v1.events.list(params={"type": "invoice.created", "limit": 100})
    draft = next(
        event.data.object
        for event in created.auto_paging_iter()
        if event.data.object.id == invoice_id
    )
    Invoice.sync_from_stripe_data(draft)

    rows = _invoice_rows(logged_in.get(INVOICES).text)

    assert list(rows) == [invoice_id]
    assert "Draft" in rows[invoice_id]
    assert _links(rows[invoice_id]) == {}


def test_a_graduated_tiered_price_shows_the_right_amount(stripe_settings, logged_in, user):
    price = plan_price_create(
        unit_amount=None,
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 500}],
    )
    subscription_start(holder=user, price=price, quantity=8)

    page = logged_in.get(STATUS_PAGE).text

    # 5 seats at $10, then 3 at $5.
    assert "$65 per month" in page


def test_a_yearly_plan_says_yearly_as_the_pricing_page_does(stripe_settings, logged_in, user):
    price = plan_price_create(unit_amount=19000, interval="year")
    subscription_start(holder=user, price=price)

    page = logged_in.get(STATUS_PAGE).text

    assert re.search(r"data-interval>\s*Yearly\s*<", page)
    assert "Annual" not in page
    assert "$190 per year" in page


def test_cancel_at_period_end_shows_the_end_date(stripe_settings, logged_in, user):
    price = plan_price_create()
    subscription_id = subscription_start(holder=user, price=price)
    updated = stripe_client().v1.subscriptions.update(
        subscription_id, params={"cancel_at_period_end": True}
    )

    page = logged_in.get(f"{STATUS_PAGE}?from=billing-portal").text

    assert 'data-status="cancels"' in page
    assert f"Cancels on {day(updated['items'].data[0].current_period_end)}" in page
    assert "Renews on" not in page


def test_a_trial_shows_trialing_and_its_end(stripe_settings, logged_in, user):
    price = plan_price_create()
    subscription_id = subscription_start(holder=user, price=price, trial_period_days=14)
    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)

    page = logged_in.get(STATUS_PAGE).text

    ends = datetime.fromtimestamp(subscription.trial_end, tz=UTC)
    today = datetime.now(tz=UTC).date()
    assert 'data-status="trialing"' in page
    assert (
        f"{(ends.date() - today).days} days left (ends {ends.day} {ends:%B}), then $15 per month"
        in page
    )


def test_a_canceled_subscription_shows_canceled(stripe_settings, logged_in, user):
    price = plan_price_create()
    subscription_id = subscription_start(holder=user, price=price)
    stripe_client().v1.subscriptions.cancel(subscription_id)

    page = logged_in.get(f"{STATUS_PAGE}?from=billing-portal").text

    assert 'data-status="canceled"' in page
    assert "Renews on" not in page


def test_past_due_shows_a_badge_and_a_banner_on_every_page(stripe_settings, logged_in, user):
    price = plan_price_create()
    past_due_subscription_start(holder=user, price=price)

    status_page = logged_in.get(STATUS_PAGE).text
    home = logged_in.get(reverse("home")).text
    profile = logged_in.get(reverse("accounts:profile")).text

    assert 'data-status="past_due"' in status_page
    for page in (status_page, home, profile):
        assert "data-past-due-banner" in page
        assert f'action="{reverse("accounts:billing_portal")}"' in page
        assert "Update your payment method" in page


def test_no_banner_without_a_past_due_subscription(stripe_settings, logged_in, user, client):
    price = plan_price_create()
    subscription_start(holder=user, price=price)

    assert "data-past-due-banner" not in logged_in.get(reverse("home")).text
    client.logout()
    assert "data-past-due-banner" not in client.get(reverse("home")).text


def test_back_from_the_portal_with_stripe_down_shows_what_we_have(
    stripe_settings, logged_in, user, settings, caplog
):
    from tests.portal.test_stripe_client import closed_port

    price = plan_price_create()
    subscription_start(holder=user, price=price)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    response = logged_in.get(f"{STATUS_PAGE}?from=billing-portal")

    assert response.status_code == 200
    assert "couldn&#x27;t load your latest billing changes" in response.text
    assert 'data-status="active"' in response.text
    assert "Stripe unavailable" in caplog.text


def test_the_status_page_reads_the_session_user_and_billing_state(
    stripe_settings, logged_in, user, monkeypatch, django_assert_num_queries
):
    price = plan_price_create(unit_amount=1900, interval="month")
    plan_offer(monkeypatch, price)
    subscription_start(holder=user, price=price)
    team_create(name="Acme", creator=user)

    # The session, the user and the billing state (subscription, customer and card in one
    # query). The account menu loads the user's teams when opened, the invoices load after.
    with django_assert_num_queries(3):
        response = logged_in.get(STATUS_PAGE)

    assert response.status_code == 200
    assert "Visa ending in 4242" in response.text
