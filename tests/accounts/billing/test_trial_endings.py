"""The life of a free trial on Stripe test clocks: the reminder three days before, the first
paid invoice with a card, and without one the cancel, or the pause until a card is added."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from djstripe.models import Subscription

from accounts.billing.checkout import holder_subscription_sync
from accounts.billing.state import billing_state
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import (
    DAY,
    JAN_1_2026,
    clock_customer_create,
    site_domain_set,
)
from tests.accounts.gating_support import demo_plans_ensure, demo_price
from tests.accounts.webhooks.webhook_helpers import SECRET, WebhookPoster, events_since
from tests.stripe_server.hosted_pages import get_page, post_form

pytestmark = pytest.mark.django_db

STATUS = "/subscription/"
GATED = "/subscription/demo/members/"  # any live plan
TRIAL_ENDS = JAN_1_2026 + 14 * DAY  # 15 January 2026
CARD = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"}


@pytest.fixture
def logged_in(client, user, stripe_settings):
    site_domain_set("portal.test")
    demo_plans_ensure(stripe_settings.api_base)
    client.force_login(user)
    return client


def trial_start(holder, slug: str, *, days: int, card: bool, ends: str | None = None):
    """A free trial of the demo plan on a test clock frozen at 1 January 2026, as Checkout
    makes one (with a card, or none and `trial_settings`), synced in. Returns (clock, id)."""
    clock = clock_customer_create(holder=holder, frozen_time=JAN_1_2026)
    params = {
        "customer": holder.customer.id,
        "items": [{"price": demo_price(slug).id}],
        "trial_period_days": days,
    }
    if card:
        params["default_payment_method"] = "pm_card_visa"
    if ends:
        params["trial_settings"] = {"end_behavior": {"missing_payment_method": ends}}
    subscription = stripe_client().v1.subscriptions.create(params=params)
    holder_subscription_sync(holder=holder)
    holder.refresh_from_db()
    return clock, subscription.id


def advance(clock, to: int) -> None:
    stripe_client().v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": to})


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_card_trial_ends_with_its_first_invoice_paid_and_the_plan_goes_on(logged_in, user):
    clock, subscription_id = trial_start(user, "pro", days=14, card=True)
    assert billing_state(holder=user).status == "trialing"

    advance(clock, TRIAL_ENDS + DAY)
    holder_subscription_sync(holder=user)

    state = billing_state(holder=user)
    assert state.status == "active"
    invoice = stripe_client().v1.invoices.retrieve(
        Subscription.objects.get(id=subscription_id).stripe_data["latest_invoice"]
    )
    # Pro is $50 a month: the first paid month starts when the trial ends.
    assert (invoice.amount_paid, invoice.status) == (5000, "paid")
    assert invoice.lines.data[0].period.start == TRIAL_ENDS
    assert logged_in.get(GATED).status_code == 200


def test_the_reminder_three_days_before_mails_the_end_date_and_the_charge(
    logged_in, user, client, settings, django_capture_on_commit_callbacks
):
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    clock, subscription_id = trial_start(user, "pro", days=14, card=True)
    advance(clock, TRIAL_ENDS - 3 * DAY)
    reminders = [
        event
        for event in events_since(JAN_1_2026, object_ids={subscription_id})
        if event["type"] == "customer.subscription.trial_will_end"
    ]
    assert len(reminders) == 1
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = WebhookPoster(client=client, secret=SECRET).post(reminders[0])

    assert response.status_code == 200
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [user.email]
    assert sent.subject == "Your Pro trial ends on 15 January"
    assert "ends on 15 January 2026" in sent.body
    assert "We will then charge $50.00 to your Visa ending in 4242" in sent.body


def test_the_reminder_without_a_card_says_where_to_add_one(
    logged_in, user, client, settings, django_capture_on_commit_callbacks
):
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    clock, subscription_id = trial_start(user, "starter", days=7, card=False, ends="cancel")
    advance(clock, JAN_1_2026 + 4 * DAY)
    (reminder,) = [
        event
        for event in events_since(JAN_1_2026, object_ids={subscription_id})
        if event["type"] == "customer.subscription.trial_will_end"
    ]
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        WebhookPoster(client=client, secret=SECRET).post(reminder)

    (sent,) = mail.outbox
    assert sent.subject == "Your Starter trial ends on 8 January"
    # Starter is $25 a month.
    assert "To keep Starter after the trial ($25.00 on 8 January), add a card here:" in sent.body
    assert "http://portal.test/subscription/" in sent.body


def test_a_trial_without_a_card_is_canceled_and_the_gate_says_so(logged_in, user):
    clock, _ = trial_start(user, "starter", days=7, card=False, ends="cancel")

    advance(clock, JAN_1_2026 + 8 * DAY)
    holder_subscription_sync(holder=user)

    assert billing_state(holder=user).status == "canceled"
    gated = logged_in.get(GATED)
    assert gated.status_code == 302
    assert gated["Location"] == "/pricing/"
    assert messages_of(gated) == ["Your trial has ended — add a card to continue."]
    page = logged_in.get(STATUS).content.decode()
    assert "Your trial has ended." in page
    # The one trial is used: the plans offer a plain subscription now.
    assert "Subscribe to Starter" in logged_in.get("/pricing/").content.decode()


def test_a_paused_trial_resumes_once_a_card_is_added_through_the_portal(logged_in, user):
    clock, subscription_id = trial_start(user, "starter", days=7, card=False, ends="pause")
    advance(clock, JAN_1_2026 + 8 * DAY)
    holder_subscription_sync(holder=user)
    assert billing_state(holder=user).status == "paused"

    gated = logged_in.get(GATED)
    assert gated["Location"] == STATUS
    assert messages_of(gated) == ["Your trial has ended — add a card to continue."]
    status_page = logged_in.get(STATUS).content.decode()
    assert "Add a card to continue" in status_page
    # A new Checkout would make a second subscription: it is sent back here instead.
    checkout = logged_in.post("/subscription/checkout/", {"price": demo_price("basic").id})
    assert checkout["Location"] == STATUS

    portal = logged_in.post("/subscription/add-card/")
    assert portal.status_code == 303
    assert "card_number" in get_page(portal["Location"]).text
    saved = post_form(portal["Location"] + "/payment-method", CARD)
    assert saved.status == 303
    back = saved.location
    assert back == "http://portal.test/subscription/?from=billing-portal"
    page = logged_in.get(back.replace("http://portal.test", "")).content.decode()

    state = billing_state(holder=user)
    assert state.status == "active"
    invoice = stripe_client().v1.invoices.retrieve(
        stripe_client().v1.subscriptions.retrieve(subscription_id).latest_invoice
    )
    # A new month of Starter ($25) from the moment it resumed.
    assert (invoice.amount_paid, invoice.status) == (2500, "paid")
    assert invoice.lines.data[0].period.start == JAN_1_2026 + 8 * DAY
    assert 'data-status="active"' in page
    assert logged_in.get(GATED).status_code == 200


def test_a_card_added_elsewhere_resumes_the_paused_trial_through_the_webhooks(
    logged_in, user, client, settings
):
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    clock, subscription_id = trial_start(user, "starter", days=7, card=False, ends="pause")
    advance(clock, JAN_1_2026 + 8 * DAY)
    holder_subscription_sync(holder=user)
    sdk = stripe_client()
    card = sdk.v1.payment_methods.attach("pm_card_visa", params={"customer": user.customer.id})
    sdk.v1.customers.update(
        user.customer.id, params={"invoice_settings": {"default_payment_method": card.id}}
    )
    (updated,) = [
        event
        for event in events_since(JAN_1_2026, object_ids={user.customer.id})
        if event["type"] == "customer.updated"
        and "invoice_settings" in (event["data"].get("previous_attributes") or {})
    ]

    assert WebhookPoster(client=client, secret=SECRET).post(updated).status_code == 200

    assert sdk.v1.subscriptions.retrieve(subscription_id).status == "active"
    assert billing_state(holder=user).status == "active"


def test_a_plan_change_during_the_trial_charges_nothing_until_it_ends(logged_in, user):
    trial_start(user, "pro", days=14, card=True)
    basic = demo_price("basic")

    screen = logged_in.get("/subscription/change/", {"price": basic.id})

    page = screen.content.decode()
    assert screen.status_code == 200
    assert "there is no charge until your trial ends on 15 January 2026" in page
    # Basic is $10 a month: the trial's end bills a first whole month of it.
    assert "Your first invoice is then <strong data-amount-due>$10.00</strong>" in page
    assert "Confirm and pay" not in page
    token = page.split('name="token" value="', 1)[1].split('"', 1)[0]
    done = logged_in.post("/subscription/change/", {"price": basic.id, "token": token})
    assert done.status_code in (302, 303)
    state = billing_state(holder=user)
    assert (state.status, state.plan.slug, state.trial_end.timestamp()) == (
        "trialing",
        "basic",
        TRIAL_ENDS,
    )
    invoices = stripe_client().v1.invoices.list(params={"customer": user.customer.id}).data
    assert sum(invoice.amount_paid for invoice in invoices) == 0
