"""Plan changes inside Portal: the exact preview, upgrades now, downgrades at the period's end,
a declined upgrade that changes nothing, and every bad input answered with a 4xx.

Subscriptions live on test clocks, so the prorations are worked out here, independently, to
the cent: Stripe prorates per second of the period and rounds each line.
"""

from __future__ import annotations

import re
import time
from unittest import mock

import pytest
from django.core import signing

from accounts.billing.checkout import holder_subscription_sync
from accounts.billing.state import billing_state
from portal.stripe_client import stripe_client
from pricing import catalog as pricing_catalog
from tests.accounts.billing_helpers import (
    DAY,
    FEB_1_2026,
    JAN_1_2026,
    JAN_16_2026,
    clock_customer_create,
    plan_offer,
    plan_price_create,
    subscription_start,
)
from tests.accounts.gating_support import demo_plans_ensure, demo_price, subscribe
from tests.accounts.teams.team_helpers import member_join, team_subscribe, team_with_members
from tests.accounts.teams.team_helpers import user_create as team_user_create
from tests.portal.test_stripe_client import closed_port

pytestmark = pytest.mark.django_db

CHANGE = "/subscription/change/"
STATUS = "/subscription/"
JAN_1_2027 = JAN_1_2026 + 365 * DAY


def dollars(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


@pytest.fixture
def basic_and_pro(monkeypatch):
    """Two offered monthly plans: Basic at $15 and Pro at $50."""
    basic = plan_price_create(unit_amount=1500)
    pro = plan_price_create(unit_amount=5000)
    plan_offer(monkeypatch, basic)
    plan_offer(monkeypatch, pro)
    return basic, pro


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def on_clock(user, price, *, quantity: int = 1, card: str = "pm_card_visa") -> tuple[str, str]:
    """Subscribe the user on a test clock frozen at 1 January 2026, then move it to the 16th.
    Returns the subscription's and the clock's ids."""
    clock = clock_customer_create(holder=user, frozen_time=JAN_1_2026)
    subscription_id = subscription_start(
        holder=user, price=price, quantity=quantity, payment_method=card
    )
    stripe_client().v1.test_helpers.test_clocks.advance(
        clock.id, params={"frozen_time": JAN_16_2026}
    )
    holder_subscription_sync(holder=user)
    return subscription_id, clock.id


def unused_fraction() -> float:
    return (FEB_1_2026 - JAN_16_2026) / (FEB_1_2026 - JAN_1_2026)


def confirm_form(page: str) -> dict[str, str]:
    form = re.search(r"<form [^>]*data-confirm-form>(.*?)</form>", page, re.S)
    assert form is not None, "no confirm form"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(1)))


def test_an_upgrade_previews_the_prorated_amount_and_charges_exactly_that(
    stripe_settings, logged_in, user, basic_and_pro
):
    basic, pro = basic_and_pro
    subscription_id, _ = on_clock(user, basic)

    page = logged_in.get(CHANGE, {"price": pro.id}).text

    # 16 of January's 31 days are left: credit them at $15, charge them at $50.
    credit = round(1500 * unused_fraction())
    charge = round(5000 * unused_fraction())
    due = charge - credit
    assert f"<strong data-amount-due>{dollars(due)}</strong> today (prorated)" in page
    assert dollars(-credit) in page and dollars(charge) in page
    assert "then $50 per month from 1 February 2026" in page
    assert billing_state(holder=user).plan_item.price_id == basic.id  # nothing changed yet

    response = logged_in.post(CHANGE, confirm_form(page))

    assert response.status_code == 303 and response["Location"] == STATUS
    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)
    assert subscription["items"].data[0].price.id == pro.id
    invoice = stripe_client().v1.invoices.retrieve(subscription.latest_invoice)
    assert invoice.amount_due == due and invoice.status == "paid"
    assert billing_state(holder=user).plan_item.price_id == pro.id


def test_monthly_to_yearly_credits_the_month_and_charges_the_year_now(
    stripe_settings, logged_in, user, monkeypatch
):
    monthly = plan_price_create(unit_amount=1000)
    yearly = plan_price_create(unit_amount=10000, interval="year", product=monthly.product.id)
    plan_offer(monkeypatch, monthly)
    subscription_id, _ = on_clock(user, monthly)

    page = logged_in.get(CHANGE, {"price": yearly.id}).text
    due = 10000 - round(1000 * unused_fraction())
    assert f"<strong data-amount-due>{dollars(due)}</strong>" in page
    assert "from 16 January 2027" in page  # the cycle starts again today

    logged_in.post(CHANGE, confirm_form(page))

    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)
    assert subscription["items"].data[0].price.id == yearly.id
    invoice = stripe_client().v1.invoices.retrieve(subscription.latest_invoice)
    assert invoice.amount_paid == due


def test_a_downgrade_is_scheduled_for_the_period_end_and_can_be_kept(
    stripe_settings, logged_in, user, basic_and_pro
):
    basic, pro = basic_and_pro
    subscription_id, _ = on_clock(user, pro)
    invoices_before = stripe_client().v1.invoices.list(params={"customer": user.customer.id})

    page = logged_in.get(CHANGE, {"price": basic.id}).text
    assert "changes to" in page and "on 1 February 2026; nothing is charged today" in page

    response = logged_in.post(CHANGE, confirm_form(page))

    assert response.status_code == 303
    state = billing_state(holder=user)
    assert state.plan_item.price_id == pro.id  # gating keeps Pro until then
    assert state.scheduled_change.price_id == basic.id
    assert state.scheduled_change.starts.timestamp() == FEB_1_2026
    invoices_after = stripe_client().v1.invoices.list(params={"customer": user.customer.id})
    assert len(invoices_after.data) == len(invoices_before.data)  # nothing charged
    status = logged_in.get(STATUS).text
    assert "Changes to <strong>" in status and "February 1, 2026" in status

    kept = logged_in.post("/subscription/change/keep/")

    assert kept.status_code == 303
    assert billing_state(holder=user).scheduled_change is None
    assert stripe_client().v1.subscriptions.retrieve(subscription_id).schedule is None
    assert "data-scheduled-change" not in logged_in.get(STATUS).text


def test_a_scheduled_downgrade_takes_effect_at_the_period_end(
    stripe_settings, logged_in, user, basic_and_pro
):
    basic, pro = basic_and_pro
    subscription_id, clock_id = on_clock(user, pro)
    logged_in.post(CHANGE, confirm_form(logged_in.get(CHANGE, {"price": basic.id}).text))

    stripe_client().v1.test_helpers.test_clocks.advance(
        clock_id, params={"frozen_time": FEB_1_2026 + 60}
    )
    holder_subscription_sync(holder=user)

    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)
    assert subscription["items"].data[0].price.id == basic.id
    invoice = stripe_client().v1.invoices.retrieve(subscription.latest_invoice)
    assert invoice.amount_paid == 1500  # the renewal bills Basic, with no proration
    assert billing_state(holder=user).plan_item.price_id == basic.id


def graduated_seats(product: str | None = None):
    """$10 a seat for seats 1-5, $8 from the 6th (Stripe's graduated tiers)."""
    return plan_price_create(
        unit_amount=None,
        product=product,
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}],
    )


def graduated_total(seats: int) -> int:
    return min(seats, 5) * 1000 + max(seats - 5, 0) * 800


def test_more_seats_on_a_tiered_plan_are_charged_now_fewer_wait(
    stripe_settings, logged_in, user, monkeypatch
):
    seats = graduated_seats()
    plan_offer(monkeypatch, seats, per_seat=True)
    subscription_id, _ = on_clock(user, seats, quantity=4)

    page = logged_in.get(CHANGE, {"price": seats.id, "seats": 7}).text
    due = round(graduated_total(7) * unused_fraction()) - round(
        graduated_total(4) * unused_fraction()
    )
    assert f"<strong data-amount-due>{dollars(due)}</strong>" in page
    logged_in.post(CHANGE, confirm_form(page))
    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)
    assert subscription["items"].data[0].quantity == 7
    assert stripe_client().v1.invoices.retrieve(subscription.latest_invoice).amount_paid == due

    fewer = logged_in.get(CHANGE, {"price": seats.id, "seats": 3}).text
    assert 'data-change-kind="downgrade"' in fewer
    logged_in.post(CHANGE, confirm_form(fewer))
    assert stripe_client().v1.subscriptions.retrieve(subscription_id)["items"].data[0].quantity == 7
    change = billing_state(holder=user).scheduled_change
    assert (change.price_id, change.quantity) == (seats.id, 3)


def test_the_seat_field_re_renders_only_the_preview_with_htmx(
    stripe_settings, logged_in, user, monkeypatch
):
    seats = graduated_seats()
    plan_offer(monkeypatch, seats, per_seat=True)
    on_clock(user, seats, quantity=2)

    response = logged_in.get(
        CHANGE, {"price": seats.id, "seats": 6}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="change-preview"')
    assert "<html" not in response.text
    due = round(graduated_total(6) * unused_fraction()) - round(
        graduated_total(2) * unused_fraction()
    )
    assert dollars(due) in response.text


def test_a_declined_upgrade_leaves_the_plan_as_it_was(
    stripe_settings, logged_in, user, basic_and_pro
):
    basic, pro = basic_and_pro
    subscription_id, _ = on_clock(user, basic)
    client = stripe_client()
    failing = client.v1.payment_methods.attach(
        "pm_card_chargeCustomerFail", params={"customer": user.customer.id}
    )
    client.v1.subscriptions.update(subscription_id, params={"default_payment_method": failing.id})
    holder_subscription_sync(holder=user)

    page = logged_in.get(CHANGE, {"price": pro.id}).text
    response = logged_in.post(CHANGE, confirm_form(page))

    assert response.status_code == 402
    assert "Your card was declined, so your plan has not changed" in response.text
    assert "Manage billing" in response.text
    subscription = client.v1.subscriptions.retrieve(subscription_id)
    assert subscription["items"].data[0].price.id == basic.id
    assert subscription.pending_update is None and subscription.status == "active"
    open_invoices = client.v1.invoices.list(params={"customer": user.customer.id, "status": "open"})
    assert open_invoices.data == []  # the change's invoice was voided, not left to pay
    assert billing_state(holder=user).plan_item.price_id == basic.id


def test_bad_requests_get_a_clear_4xx(stripe_settings, logged_in, user, monkeypatch):
    basic = plan_price_create(unit_amount=1500)
    pro = plan_price_create(unit_amount=5000)
    unlisted = plan_price_create(unit_amount=9900)
    seats = graduated_seats()
    plan_offer(monkeypatch, basic)
    plan_offer(monkeypatch, pro)
    plan_offer(monkeypatch, seats, per_seat=True)
    on_clock(user, basic)

    unknown = logged_in.get(CHANGE, {"price": "price_nope"})
    assert unknown.status_code == 400 and "That plan is not available" in unknown.text
    assert logged_in.get(CHANGE, {"price": unlisted.id}).status_code == 400
    current = logged_in.get(CHANGE, {"price": basic.id})
    assert current.status_code == 400 and "That&#x27;s your current plan" in current.text
    assert "data-confirm-form" not in current.text
    too_many = logged_in.get(CHANGE, {"price": seats.id, "seats": 10_001})
    assert too_many.status_code == 400 and "Seats must be a whole number" in too_many.text
    assert logged_in.get(CHANGE, {"price": seats.id, "seats": "two"}).status_code == 400

    form = confirm_form(logged_in.get(CHANGE, {"price": pro.id}).text)
    forged = logged_in.post(CHANGE, {**form, "token": form["token"] + "x"})
    assert forged.status_code == 400 and "not valid" in forged.text
    # A token for one change does not confirm another.
    other = logged_in.post(CHANGE, {**form, "price": seats.id, "seats": "9"})
    assert other.status_code == 400
    assert billing_state(holder=user).plan_item.price_id == basic.id


def test_an_old_preview_is_computed_again_not_applied(
    stripe_settings, logged_in, user, basic_and_pro
):
    basic, pro = basic_and_pro
    on_clock(user, basic)
    form = confirm_form(logged_in.get(CHANGE, {"price": pro.id}).text)
    # The same preview, signed ten minutes ago.
    value = signing.loads(form["token"], salt="portal.plan-change")
    with mock.patch("time.time", return_value=time.time() - 600):
        aged = signing.dumps(value, salt="portal.plan-change")

    response = logged_in.post(CHANGE, {**form, "token": aged})

    assert response.status_code == 409
    assert "worked the amount out again" in response.text
    assert "data-confirm-form" in response.text
    assert billing_state(holder=user).plan_item.price_id == basic.id


def test_without_a_subscription_the_change_screen_offers_checkout(
    stripe_settings, logged_in, user, monkeypatch
):
    pro = plan_price_create(unit_amount=5000)
    plan_offer(monkeypatch, pro)

    response = logged_in.get(CHANGE, {"price": pro.id})

    assert response.status_code == 200
    assert 'action="/subscription/checkout/"' in response.text
    assert f'value="{pro.id}"' in response.text


def card_button(page: str, slug: str) -> str:
    """The pricing card's button (or the disabled "Current plan") for the plan `slug`."""
    card = re.search(rf'<article data-plan="{slug}".*?</article>', page, re.S)
    assert card is not None, f"no card for {slug}"
    found = re.search(r"data-(change-button|current-plan-button)[^>]*>([^<]+)<", card.group(0))
    return found.group(2).strip() if found else ""


def test_the_pricing_page_tells_a_subscriber_what_each_plan_would_be(
    stripe_settings, logged_in, user, monkeypatch
):
    basic = plan_price_create(unit_amount=1500)
    basic_yearly = plan_price_create(unit_amount=15000, interval="year", product=basic.product.id)
    pro = plan_price_create(unit_amount=5000)
    plan_price_create(unit_amount=50000, interval="year", product=pro.product.id)
    cheap = plan_price_create(unit_amount=500)
    plan_price_create(unit_amount=5000, interval="year", product=cheap.product.id)
    basic_plan = plan_offer(monkeypatch, basic)
    pro_plan = plan_offer(monkeypatch, pro)
    cheap_plan = plan_offer(monkeypatch, cheap)
    on_clock(user, basic)

    monthly = logged_in.get("/pricing/?interval=month").text
    yearly = logged_in.get("/pricing/?interval=year").text

    assert card_button(monthly, basic_plan.slug) == "Current plan"
    assert card_button(monthly, pro_plan.slug) == "Upgrade"
    assert card_button(monthly, cheap_plan.slug) == "Downgrade"
    assert card_button(yearly, basic_plan.slug) == "Switch to yearly"
    assert f'value="{basic_yearly.id}"' in yearly
    assert 'action="/subscription/change/"' in monthly
    assert "Subscribe to" not in monthly


def test_a_visitor_and_a_holder_without_a_subscription_still_subscribe(
    stripe_settings, client, user, monkeypatch
):
    pro = plan_price_create(unit_amount=5000)
    pro_plan = plan_offer(monkeypatch, pro)

    for browser in (client, None):
        if browser is None:
            client.force_login(user)
        page = client.get("/pricing/").text
        assert f"Subscribe to {pro_plan.name}" in page
        assert "data-change-button" not in page


def test_checkout_for_a_subscriber_goes_to_the_change_screen(
    stripe_settings, logged_in, user, basic_and_pro
):
    basic, pro = basic_and_pro
    on_clock(user, basic)

    response = logged_in.post("/subscription/checkout/", {"price": pro.id})

    assert response.status_code == 303
    assert response["Location"] == f"{CHANGE}?price={pro.id}"


def test_a_plan_gate_sends_a_subscriber_to_the_change_screen_and_back(
    stripe_settings, logged_in, user, monkeypatch
):
    demo_plans_ensure(stripe_settings.api_base)
    demo_price("pro")  # synced, as the pricing page needs it
    subscribe(user, "basic")

    response = logged_in.get("/subscription/demo/pro/")

    assert response.status_code == 302
    assert response["Location"] == f"{CHANGE}?plan=pro&next=%2Fsubscription%2Fdemo%2Fpro%2F"
    page = logged_in.get(response["Location"]).text
    assert "This needs the Pro plan. You are on Basic. Upgrade to continue." in page
    assert 'data-change-kind="upgrade"' in page
    assert 'name="next" value="/subscription/demo/pro/"' in page


def test_the_change_screen_reads_the_session_user_and_billing_state(
    stripe_settings, logged_in, user, monkeypatch, basic_and_pro, django_assert_num_queries
):
    basic, pro = basic_and_pro
    subscription_start(holder=user, price=pro)
    # The catalog's stamp is read at most once a second; keep this test off that boundary.
    monkeypatch.setattr(pricing_catalog, "STAMP_REUSE_SECONDS", 3600)
    logged_in.get(CHANGE, {"price": basic.id})

    # A downgrade's screen calls no Stripe: the session, the user and the billing state.
    with django_assert_num_queries(3):
        response = logged_in.get(CHANGE, {"price": basic.id})

    assert response.status_code == 200
    assert 'data-change-kind="downgrade"' in response.text


def test_in_team_mode_only_admins_change_the_teams_plan(
    stripe_settings, client, settings, monkeypatch, basic_and_pro
):
    settings.PORTAL_SUBSCRIPTION_HOLDER = "team"
    basic, pro = basic_and_pro
    admin = team_user_create()
    team = team_with_members(admin=admin)
    member = member_join(team=team, invited_by=admin).user
    subscription_id = team_subscribe(team, basic)

    client.force_login(member)
    refused = client.get(CHANGE, {"price": pro.id})
    assert refused.status_code == 403 and "admins" in refused.text
    assert client.post(CHANGE, {"price": pro.id, "token": "x"}).status_code == 403

    client.force_login(admin)
    response = client.post(CHANGE, confirm_form(client.get(CHANGE, {"price": pro.id}).text))

    assert response.status_code == 303
    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)
    assert subscription["items"].data[0].price.id == pro.id


def test_when_stripe_cannot_be_reached_nothing_changes(
    stripe_settings, logged_in, user, settings, basic_and_pro
):
    basic, pro = basic_and_pro
    subscription_id, _ = on_clock(user, basic)
    form = confirm_form(logged_in.get(CHANGE, {"price": pro.id}).text)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    preview = logged_in.get(CHANGE, {"price": pro.id})
    confirm = logged_in.post(CHANGE, form)

    assert preview.status_code == 503 and confirm.status_code == 503
    assert "Nothing was charged" in confirm.text
    settings.STRIPE_API_BASE = stripe_settings.api_base
    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)
    assert subscription["items"].data[0].price.id == basic.id
    assert billing_state(holder=user).plan_item.price_id == basic.id


def test_an_upgrade_replaces_a_downgrade_that_was_waiting(
    stripe_settings, logged_in, user, monkeypatch, basic_and_pro
):
    basic, pro = basic_and_pro
    team = plan_price_create(unit_amount=9000)
    plan_offer(monkeypatch, team)
    subscription_id, _ = on_clock(user, pro)
    logged_in.post(CHANGE, confirm_form(logged_in.get(CHANGE, {"price": basic.id}).text))
    assert billing_state(holder=user).scheduled_change is not None

    page = logged_in.get(CHANGE, {"price": team.id}).text
    due = round(9000 * unused_fraction()) - round(5000 * unused_fraction())
    assert f"<strong data-amount-due>{dollars(due)}</strong>" in page
    logged_in.post(CHANGE, confirm_form(page))

    subscription = stripe_client().v1.subscriptions.retrieve(subscription_id)
    assert subscription["items"].data[0].price.id == team.id
    assert subscription.schedule is None
    assert stripe_client().v1.invoices.retrieve(subscription.latest_invoice).amount_paid == due
    state = billing_state(holder=user)
    assert state.plan_item.price_id == team.id and state.scheduled_change is None


def test_a_bad_seat_count_typed_with_htmx_is_explained_in_place(
    stripe_settings, logged_in, user, monkeypatch
):
    seats = graduated_seats()
    plan_offer(monkeypatch, seats, per_seat=True)
    on_clock(user, seats, quantity=2)

    response = logged_in.get(
        CHANGE, {"price": seats.id, "seats": "0"}, headers={"HX-Request": "true"}
    )

    # htmx swaps only successful answers: the message replaces the preview.
    assert response.status_code == 200
    assert 'id="change-preview"' in response.text and "data-change-error" in response.text
    assert "Seats must be a whole number" in response.text
    assert "data-confirm-form" not in response.text


def test_a_team_pays_one_seat_per_member_whatever_seats_are_asked(
    stripe_settings, client, settings, monkeypatch
):
    settings.PORTAL_SUBSCRIPTION_HOLDER = "team"
    cheap = plan_price_create(unit_amount=1000)
    dear = plan_price_create(unit_amount=2500)
    plan_offer(monkeypatch, cheap, per_seat=True)
    plan_offer(monkeypatch, dear, per_seat=True)
    admin = team_user_create()
    team = team_with_members(admin=admin, members=2)
    subscription_id = team_subscribe(team, cheap)
    client.force_login(admin)

    page = client.get(CHANGE, {"price": dear.id, "seats": "10"}).text

    assert "3 seats, one per member of your team" in page
    assert 'name="seats"' not in page.split("data-confirm-form")[0]  # no seat field to type in
    client.post(CHANGE, confirm_form(page))
    item = stripe_client().v1.subscriptions.retrieve(subscription_id)["items"].data[0]
    assert (item.price.id, item.quantity) == (dear.id, 3)
