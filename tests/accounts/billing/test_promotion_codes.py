"""Promotion codes in Checkout: the code field (`PORTAL_CHECKOUT_ALLOW_PROMOTION_CODES`), a
code applied from the start (`discounts`), a `?promo=` link carried through sign-up into
Checkout, and the refusals."""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from accounts.billing.checkout import checkout_session_create, holder_subscription_sync
from accounts.billing.errors import PromotionCodeRefusedError
from portal.stripe_client import stripe_client
from pricing.services import coupon_sync, promotion_code_sync
from tests.accounts.auth.auth_helpers import PASSWORD, link_in
from tests.accounts.billing_helpers import (
    DAY,
    JAN_1_2026,
    JAN_16_2026,
    clock_customer_create,
    hosted_checkout_pay,
    plan_offer,
    plan_price_create,
    site_domain_set,
    subscription_start,
)
from tests.accounts.gating_support import demo_plans_ensure, demo_price
from tests.accounts.webhooks.webhook_helpers import (
    SECRET,
    WebhookPoster,
    events_since,
    server_now,
)

pytestmark = pytest.mark.django_db

SUCCESS = "http://testserver/subscription/confirm/?session_id={CHECKOUT_SESSION_ID}"
CANCEL = "http://testserver/pricing/"


def start_checkout(holder, price, **extra) -> str:
    return checkout_session_create(
        holder=holder, price_id=price.id, quantity=None, success_url=SUCCESS, cancel_url=CANCEL,
        **extra,
    )  # fmt: skip


def session_of(url: str):
    return stripe_client().v1.checkout.sessions.retrieve(url.rstrip("/").rsplit("/", 1)[-1])


def promotion_code_create(**code):
    """A code for a new coupon of 20% off once (`code`: more of the code's parameters)."""
    client = stripe_client()
    made = client.v1.coupons.create(params={"percent_off": 20, "duration": "once"})
    return client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": made.id},
            "code": f"T{uuid.uuid4().hex[:10].upper()}",
            **code,
        }
    )


def test_checkout_offers_the_code_field_by_default(stripe_settings, user):
    session = session_of(start_checkout(user, plan_price_create()))

    assert session.allow_promotion_codes is True


def test_the_setting_turns_the_code_field_off(stripe_settings, user, settings):
    settings.PORTAL_CHECKOUT_ALLOW_PROMOTION_CODES = False

    session = session_of(start_checkout(user, plan_price_create()))

    assert not session.allow_promotion_codes


@pytest.mark.parametrize("value", ["yes", 1, "true"])
def test_a_setting_that_is_not_a_boolean_fails_the_check(settings, value):
    settings.PORTAL_CHECKOUT_ALLOW_PROMOTION_CODES = value

    with pytest.raises(SystemCheckError, match=r"accounts\.E001.*must be True or False"):
        call_command("check")


def test_a_code_applied_from_the_start_goes_in_discounts_without_the_field(stripe_settings, user):
    code = promotion_code_create()

    session = session_of(start_checkout(user, plan_price_create(), promotion_code_id=code.id))

    assert [discount.promotion_code for discount in session.discounts] == [code.id]
    assert not session.allow_promotion_codes
    # 20% off $15.00.
    assert (session.amount_subtotal, session.amount_total) == (1500, 1500 - 300)


def test_a_code_stripe_refuses_says_why(stripe_settings, user):
    code = promotion_code_create()
    stripe_client().v1.promotion_codes.update(code.id, params={"active": False})

    with pytest.raises(PromotionCodeRefusedError):
        start_checkout(user, plan_price_create(), promotion_code_id=code.id)


# --- From a ?promo= link to Checkout ------------------------------------------------------------

CHECKOUT = "/subscription/checkout/"


@pytest.fixture
def site(db):
    site_domain_set("portal.test")


@pytest.fixture
def demo_plans(stripe_settings):
    """The demo plans and the demo code LAUNCH20 (20% off for 3 months, every plan but Basic),
    synced as bootstrap_subscriptions syncs them."""
    demo_plans_ensure(stripe_settings.api_base)
    for slug in ("basic", "starter", "pro", "team-seats", "seat-packs"):
        demo_price(slug)
        demo_price(slug, "year")
    launch = launch20()
    coupon_sync(coupon_id=launch.promotion.coupon)
    promotion_code_sync(promotion_code_id=launch.id)
    return launch


def launch20():
    [code] = (
        stripe_client().v1.promotion_codes.list(params={"code": "LAUNCH20", "active": True}).data
    )
    return code


def form_fields(html: str, slug: str) -> dict[str, str]:
    """What the plan card's Subscribe form sends."""
    start = html.index(f'data-subscribe="{slug}"')
    form = html[start : html.index("</form>", start)]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))


def session_from(location: str):
    return stripe_client().v1.checkout.sessions.retrieve(location.rstrip("/").rsplit("/", 1)[-1])


def test_a_promotion_link_is_carried_through_sign_up_and_verification_into_checkout(
    client, demo_plans, site, mailoutbox
):
    team = demo_price("team-seats")
    page = client.get("/pricing/", {"promo": "LAUNCH20", "seats": "3"}).content.decode()
    sent = form_fields(page, "team")
    assert sent == {"price": team.id, "seats": "3", "promo": "LAUNCH20"}

    chosen = client.get(CHECKOUT, sent)
    assert chosen["Location"].startswith("/accounts/signup/?next=")
    next_url = parse_qs(urlsplit(chosen["Location"]).query)["next"][0]
    assert next_url == f"{CHECKOUT}?price={team.id}&seats=3&promo=LAUNCH20"
    signup_page = client.get(chosen["Location"]).content.decode()
    # 3 seats at $10.
    assert (
        "You are signing up for Team — $30 per month for 3 seats, 20% off for 3 months with "
        "LAUNCH20." in signup_page
    )
    client.post(
        chosen["Location"],
        {"email": "promo-buyer@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    verified = client.post(link_in(mailoutbox[0], "/accounts/confirm-email/"))
    assert verified["Location"] == next_url
    landing = client.get(next_url).content.decode()
    # $30 less 20%.
    assert "20% off for 3 months with LAUNCH20, applied at checkout: you pay $24 today." in landing
    assert '<input type="hidden" name="promo" value="LAUNCH20">' in landing

    onward = client.post(CHECKOUT, {"price": team.id, "seats": "3", "promo": "LAUNCH20"})

    assert onward.status_code == 303
    session = session_from(onward["Location"])
    assert [discount.promotion_code for discount in session.discounts] == [demo_plans.id]
    assert not session.allow_promotion_codes
    assert (session.amount_subtotal, session.amount_total) == (3000, 3000 - 600)


def test_checkout_with_the_code_charges_the_discounted_amount(client, user, demo_plans, site):
    client.force_login(user)
    packs = demo_price("seat-packs")
    response = client.post(CHECKOUT, {"price": packs.id, "seats": "12", "promo": "launch20"})
    back = hosted_checkout_pay(response["Location"])

    client.get(back.replace("http://portal.test", ""))

    user.refresh_from_db()
    subscription = stripe_client().v1.subscriptions.retrieve(user.subscription.id)
    invoice = stripe_client().v1.invoices.retrieve(subscription.latest_invoice)
    # 12 seats: 2 packs of 10 at $50 = $100, less 20%.
    assert (invoice.subtotal, invoice.total, invoice.amount_paid) == (10000, 8000, 8000)
    assert invoice.status == "paid"


def test_a_code_that_does_not_apply_to_the_plan_is_dropped_with_a_message(
    client, user, demo_plans, site
):
    client.force_login(user)
    basic = demo_price("basic")

    page = client.get(CHECKOUT, {"price": basic.id, "promo": "LAUNCH20"})

    assert page.status_code == 200
    assert "This code does not apply to Basic, so it is not applied." in page.content.decode()
    assert 'name="promo"' not in page.content.decode()
    # Posted anyway (a page shown before): back to the plan's page, nothing started.
    response = client.post(CHECKOUT, {"price": basic.id, "promo": "LAUNCH20"})
    assert response["Location"] == f"{CHECKOUT}?price={basic.id}"
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == ["This code does not apply to Basic, so it is not applied."]


def test_a_code_used_up_since_the_page_was_shown_is_refused_by_stripe_and_dropped(
    client, user, demo_plans, site
):
    client.force_login(user)
    code = promotion_code_create(max_redemptions=1)
    coupon_sync(coupon_id=code.promotion.coupon)
    promotion_code_sync(promotion_code_id=code.id)
    someone = stripe_client().v1.customers.create(params={"payment_method": "pm_card_visa"})
    pro = demo_price("pro")
    stripe_client().v1.subscriptions.create(
        params={"customer": someone.id, "items": [{"price": pro.id}],
                "discounts": [{"promotion_code": code.id}]}
    )  # fmt: skip

    response = client.post(CHECKOUT, {"price": pro.id, "promo": code.code})

    assert response.status_code == 303
    assert response["Location"] == f"{CHECKOUT}?price={pro.id}"
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("Your promotion code could not be applied:")
    # The synced code is read again, so the pricing page stops offering it.
    page = client.get("/pricing/", {"promo": code.code}).content.decode()
    assert "has been used as many times as it can be" in page


@pytest.mark.parametrize("promo", ["LAUNCH 20", "<b>x</b>", "L" * 10_000, "' OR 1=1"])
def test_checkout_refuses_a_malformed_code(client, user, demo_plans, site, promo):
    client.force_login(user)

    response = client.post(CHECKOUT, {"price": demo_price("pro").id, "promo": promo})

    assert response.status_code == 400
    assert "A promotion code is made of letters, digits and dashes" in response.content.decode()
    assert "<b>x</b>" not in response.content.decode()


# --- The status page --------------------------------------------------------------------------

STATUS = "/subscription/"
APR_1_2026 = JAN_1_2026 + (31 + 28 + 31) * DAY


def discounted_subscription(user, monkeypatch, *, coupon: dict, unit_amount: int = 5000, **extra):
    """A $50 plan (unless told) subscribed on a clock frozen at 1 January 2026 with a new
    promotion code for `coupon`, synced in. Returns the code and the clock."""
    price = plan_price_create(unit_amount=unit_amount)
    plan_offer(monkeypatch, price)
    client = stripe_client()
    made = client.v1.coupons.create(params=coupon)
    code = client.v1.promotion_codes.create(
        params={"promotion": {"type": "coupon", "coupon": made.id},
                "code": f"S{uuid.uuid4().hex[:10].upper()}"}
    )  # fmt: skip
    clock = clock_customer_create(holder=user, frozen_time=JAN_1_2026)
    subscription_start(holder=user, price=price, discounts=[{"promotion_code": code.id}], **extra)
    user.refresh_from_db()
    return code, clock


def advance(clock, to: int, user) -> None:
    stripe_client().v1.test_helpers.test_clocks.advance(clock.id, params={"frozen_time": to})
    holder_subscription_sync(holder=user)
    user.refresh_from_db()


def field(page: str, name: str) -> str:
    match = re.search(rf"<dd[^>]*data-{name}[^>]*>(.*?)</dd>", page, re.S)
    assert match, f"no {name} on the page"
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()))


def test_a_repeating_discount_shows_until_when_and_the_amount_after_it_then_ends(
    client, user, monkeypatch, stripe_settings
):
    code, clock = discounted_subscription(
        user, monkeypatch,
        coupon={"percent_off": 20, "duration": "repeating", "duration_in_months": 3},
    )  # fmt: skip
    client.force_login(user)

    page = client.get(STATUS).content.decode()

    # Three calendar months from 1 January 2026.
    assert field(page, "discount") == f"20% off until April 1, 2026 ({code.code})"
    # $50 less 20%.
    assert field(page, "amount") == "Regular amount: $50 $40 per month"
    assert re.search(r"<del[^>]*data-regular-amount", page)

    advance(clock, APR_1_2026 + DAY, user)

    page = client.get(STATUS).content.decode()
    assert "data-discount" not in page
    assert field(page, "amount") == "$50 per month"
    invoices = (
        stripe_client().v1.invoices.list(params={"customer": user.customer.id, "limit": 10}).data
    )
    # The periods of January, February and March at $40; April's, once the three months are
    # over, at $50.
    periods = sorted((invoice.lines.data[0].period.start, invoice.total) for invoice in invoices)
    assert periods == [
        (JAN_1_2026, 4000),
        (JAN_1_2026 + 31 * DAY, 4000),
        (JAN_1_2026 + 59 * DAY, 4000),
        (APR_1_2026, 5000),
    ]


def test_a_forever_discount_says_forever(client, user, monkeypatch, stripe_settings):
    discounted_subscription(
        user, monkeypatch, coupon={"percent_off": 15, "duration": "forever"}, unit_amount=2999
    )
    client.force_login(user)

    page = client.get(STATUS).content.decode()

    assert field(page, "discount").startswith("15% off forever (")
    # $29.99 less 15% (4.4985, half up: $4.50).
    assert field(page, "amount") == "Regular amount: $29.99 $25.49 per month"


def test_an_amount_off_once_is_for_the_next_invoice_then_is_gone(
    client, user, monkeypatch, stripe_settings
):
    code, clock = discounted_subscription(
        user, monkeypatch,
        coupon={"amount_off": 1000, "currency": "usd", "duration": "once"},
        trial_period_days=14,
    )  # fmt: skip
    client.force_login(user)

    page = client.get(STATUS).content.decode()

    # The trial's $0 invoice does not use it: the first paid one will ($50 less $10).
    assert field(page, "discount") == f"$10 off your next invoice: $40 ({code.code})"
    assert field(page, "amount") == "$50 per month"
    assert "then $50 per month" in field(page, "trial")

    advance(clock, JAN_1_2026 + 15 * DAY, user)

    page = client.get(STATUS).content.decode()
    assert "data-discount" not in page
    first = stripe_client().v1.invoices.list(params={"customer": user.customer.id}).data[0]
    assert (first.subtotal, first.total) == (5000, 4000)


def test_the_status_page_with_a_discount_still_costs_three_queries(
    client, user, monkeypatch, stripe_settings, django_assert_num_queries
):
    discounted_subscription(user, monkeypatch, coupon={"percent_off": 20, "duration": "forever"})
    client.force_login(user)

    with django_assert_num_queries(3):
        page = client.get(STATUS).content.decode()

    assert "20% off forever" in page


def test_a_discount_added_in_stripe_arrives_by_webhook(
    client, user, monkeypatch, stripe_settings, settings
):
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    poster = WebhookPoster(client=Client(), secret=SECRET)
    price = plan_price_create(unit_amount=4000)
    plan_offer(monkeypatch, price)
    subscription_id = subscription_start(holder=user, price=price)
    since = server_now(stripe_settings)
    coupon = stripe_client().v1.coupons.create(params={"percent_off": 25, "duration": "forever"})
    stripe_client().v1.subscriptions.update(
        subscription_id, params={"discounts": [{"coupon": coupon.id}]}
    )
    events = events_since(since, object_ids={subscription_id}) + [
        event
        for event in events_since(since)
        if event["type"] == "customer.discount.created"
        and event["data"]["object"]["subscription"] == subscription_id
    ]

    for event in events:
        assert poster.post(event).status_code == 200

    client.force_login(user)
    page = client.get(STATUS).content.decode()
    assert field(page, "discount") == "25% off forever"
    assert field(page, "amount") == "Regular amount: $40 $30 per month"  # $40 less 25%


# --- The change screen ------------------------------------------------------------------------


def test_during_a_trial_the_change_screen_shows_the_discount_of_the_first_invoice(
    client, user, monkeypatch, stripe_settings
):
    code, _ = discounted_subscription(
        user, monkeypatch,
        coupon={"percent_off": 20, "duration": "repeating", "duration_in_months": 3},
        trial_period_days=14,
    )  # fmt: skip
    bigger = plan_price_create(unit_amount=8000)
    plan_offer(monkeypatch, bigger)
    client.force_login(user)

    page = client.get("/subscription/change/", {"price": bigger.id}).content.decode()

    # The invoice the trial's end makes: $80, less 20% = $16, so $64.
    assert "data-change-trial" in page
    assert re.search(r"data-amount-due>\$64\.00<", page)
    assert (
        f"That invoice includes your discount, 20% off for 3 months with {code.code}: "
        "&minus;$16.00." in page
    )


def test_an_upgrade_preview_adds_up_with_the_discount(client, user, monkeypatch, stripe_settings):
    _, clock = discounted_subscription(
        user, monkeypatch, coupon={"percent_off": 20, "duration": "forever"}
    )
    bigger = plan_price_create(unit_amount=8000)
    plan_offer(monkeypatch, bigger)
    advance(clock, JAN_16_2026, user)
    client.force_login(user)

    page = client.get("/subscription/change/", {"price": bigger.id}).content.decode()

    lines = [
        cents(amount)
        for amount in re.findall(
            r"data-change-(?:line|discount)>.*?<td[^>]*>([^<]*)</td>\s*</tr>", page, re.S
        )
    ]
    due = cents(re.search(r"data-amount-due>([^<]*)<", page).group(1))
    assert lines and sum(lines) == due
    # Half of January left: ($80 - $50) x 16/31, less 20%, give or take a cent per line.
    assert abs(due - round(3000 * 16 / 31 * 0.8)) <= 2
    assert "The prorated amounts are after your discount." in page


def cents(text: str) -> int:
    text = html.unescape(text).replace("\u2212", "-").replace("$", "").replace(",", "")
    return round(float(text) * 100)
