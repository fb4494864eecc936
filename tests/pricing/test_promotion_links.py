"""/pricing/?promo=LAUNCH20: the page priced with a promotion code, with and without htmx; the
code carried by the toggle, the seat count and Subscribe; the refusals and bad input."""

from __future__ import annotations

import html as html_module
import re
import time
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from djstripe.models import PromotionCode

from portal.stripe_client import stripe_client
from pricing import promotions
from pricing.forms import SEATS_ERROR
from pricing.promotions import PROMO_CODE_ERROR
from pricing.services import coupon_sync, promotion_code_sync

pytestmark = pytest.mark.django_db
URL = "/pricing/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def card(html: str, slug: str) -> str:
    match = re.search(rf'<article data-plan="{slug}".*?</article>', html, re.S)
    assert match, f"no card for {slug}"
    return match.group(0)


def offer(html: str, slug: str) -> str:
    start = html.find(f'id="plan-{slug}-offer"')
    assert start >= 0, f"no offer for {slug}"
    end = html.find('id="plan-', start + 1)
    return html[start : end if end >= 0 else len(html)]


def text(fragment: str) -> str:
    """The fragment's words, without its tags."""
    return html_module.unescape(" ".join(re.sub(r"<[^>]+>", " ", fragment).split()))


def promotion_code_make(*, coupon: dict[str, Any] | None = None, **code: Any) -> Any:
    """A coupon and a promotion code for it in Stripe, synced in (as webhooks would)."""
    client = stripe_client()
    made = client.v1.coupons.create(params=coupon or {"percent_off": 25, "duration": "forever"})
    created = client.v1.promotion_codes.create(
        params={
            "promotion": {"type": "coupon", "coupon": made.id},
            "code": f"T{uuid.uuid4().hex[:10].upper()}",
            **code,
        }
    )
    coupon_sync(coupon_id=made.id)
    promotion_code_sync(promotion_code_id=created.id)
    return created


# --- The page priced with the code --------------------------------------------------------------


def test_each_plan_the_code_applies_to_shows_the_old_price_struck_through_and_the_new_one(
    client: Client, demo_catalog: str
) -> None:
    response = client.get(URL, {"promo": "LAUNCH20"})

    assert response.status_code == 200
    html = response.content.decode()
    pro = offer(html, "pro")
    assert re.search(r"<del[^>]*>.*\$50</del>", pro, re.S)
    # $50 less 20%.
    assert "data-discounted-price>$40<" in pro
    assert "20% off for 3 months with LAUNCH20" in pro
    assert "data-discounted-price>$20<" in offer(html, "starter")  # $25 less 20%
    basic = offer(html, "basic")
    assert "<del" not in basic
    assert "data-price>$10<" in basic
    assert "This code does not apply to Basic" in basic
    assert "data-promo-applied" in html
    assert "LAUNCH20</strong>: 20% off for 3 months on the plans it applies to" in html


def test_the_code_is_matched_whatever_its_case_and_sent_on_as_stripe_spells_it(
    client: Client, demo_catalog: str
) -> None:
    html = client.get(URL, {"promo": "launch20"}).content.decode()

    pro = card(html, "pro")
    assert "data-discounted-price>$40<" in pro
    assert '<input type="hidden" name="promo" value="LAUNCH20">' in pro
    # Basic's Subscribe does not send a code Checkout would refuse for it.
    assert 'name="promo"' not in card(html, "basic")


def test_the_toggle_links_and_the_seat_form_keep_the_code(
    client: Client, demo_catalog: str
) -> None:
    html = client.get(URL, {"promo": "LAUNCH20", "seats": "7"}).content.decode()

    assert 'href="?interval=year&amp;seats=7&amp;promo=LAUNCH20"' in html
    assert 'hx-get="?interval=year&amp;seats=7&amp;promo=LAUNCH20"' in html
    controls = html[html.index('id="pricing-controls"') : html.index('id="plans"')]
    assert '<input type="hidden" name="promo" value="LAUNCH20">' in controls
    assert 'hx-include="closest form"' in controls


def test_without_javascript_the_yearly_link_prices_the_year_with_the_code(
    client: Client, demo_catalog: str
) -> None:
    html = client.get(URL, {"interval": "year", "seats": "7", "promo": "LAUNCH20"}).content.decode()

    # Pro: $500 a year less 20%; Team, 7 seats: 5 x $100 + 2 x $80 = $660, less 20% = $528.
    assert "data-discounted-price>$400<" in offer(html, "pro")
    team = offer(html, "team")
    assert re.search(r"<del[^>]*>.*\$660</del>", team, re.S)
    assert "data-discounted-price>$528<" in team
    assert 'href="?interval=month&amp;seats=7&amp;promo=LAUNCH20"' in html


def test_htmx_swaps_the_discounted_offers_and_keeps_the_code(
    client: Client, demo_catalog: str
) -> None:
    response = client.get(URL, {"interval": "month", "seats": "11", "promo": "LAUNCH20"}, **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    # Seat packs, 11 seats: 2 packs of 10 at $50 = $100, less 20% = $80.
    packs = offer(html, "seat-packs")
    assert 'hx-swap-oob="true"' in packs
    assert "data-discounted-price>$80<" in packs
    assert '<input type="hidden" name="promo" value="LAUNCH20">' in packs
    # Team, 11 seats: 5 x $10 + 6 x $8 = $98, less 20% = $78.40.
    assert "data-discounted-price>$78.40<" in offer(html, "team")
    toggle = html[html.index('id="interval-toggle"') :]
    assert 'hx-get="?interval=year&amp;seats=11&amp;promo=LAUNCH20"' in toggle
    assert 'id="promo-notice" hx-swap-oob="true"' in html


def test_an_amount_off_once_and_a_minimum_amount_are_worded(
    client: Client, demo_catalog: str
) -> None:
    ten_off = promotion_code_make(
        coupon={"amount_off": 1000, "currency": "usd", "duration": "once"}
    )
    html = client.get(URL, {"promo": ten_off.code}).content.decode()
    assert "data-discounted-price>$40<" in offer(html, "pro")
    assert f"$10 off once with {ten_off.code}" in offer(html, "pro")
    assert "data-discounted-price>$0<" in offer(html, "basic")  # capped at the $10 price

    minimum = promotion_code_make(
        restrictions={"minimum_amount": 10000, "minimum_amount_currency": "usd"}
    )
    html = client.get(URL, {"promo": minimum.code}).content.decode()
    assert f"{minimum.code} needs an order of at least $100.00" in offer(html, "pro")
    yearly = client.get(URL, {"promo": minimum.code, "interval": "year"}).content.decode()
    assert "data-discounted-price>$375<" in offer(yearly, "pro")  # $500 less 25%


def test_a_subscriber_is_told_the_code_is_for_new_subscriptions(
    client: Client, demo_catalog: str, user
) -> None:
    from tests.accounts.billing_helpers import subscription_start
    from tests.accounts.gating_support import demo_price

    subscription_start(holder=user, price=demo_price("basic"))
    client.force_login(user)

    html = client.get(URL, {"promo": "LAUNCH20"}).content.decode()

    assert "data-promo-subscriber" in html
    assert "The code LAUNCH20 is for new subscriptions" in html
    assert "<del" not in html


# --- Codes that cannot be used --------------------------------------------------------------------


def refused(client: Client, code: str) -> str:
    response = client.get(URL, {"promo": code})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<del" not in html
    assert "data-price>$50<" in offer(html, "pro")
    assert 'name="promo"' not in html
    return text(html[html.index('id="promo-notice"') :][:600])


def test_an_unknown_code_shows_a_friendly_line_and_the_regular_prices(
    client: Client, demo_catalog: str
) -> None:
    assert "We don't know the code NOSUCHCODE. Check its spelling" in refused(client, "NOSUCHCODE")


def test_a_deactivated_code_or_a_deleted_coupon_is_no_longer_available(
    client: Client, demo_catalog: str
) -> None:
    code = promotion_code_make()
    stripe_client().v1.promotion_codes.update(code.id, params={"active": False})
    promotion_code_sync(promotion_code_id=code.id)
    assert f"The code {code.code} is no longer available" in refused(client, code.code)

    other = promotion_code_make()
    stripe_client().v1.coupons.delete(other.promotion.coupon)
    from djstripe.models import Coupon

    Coupon.objects.filter(id=other.promotion.coupon).delete()  # as coupon.deleted does
    assert f"The code {other.code} is no longer available" in refused(client, other.code)


def test_a_used_up_code_says_so(client: Client, demo_catalog: str) -> None:
    code = promotion_code_make(max_redemptions=1)
    client_ = stripe_client()
    customer = client_.v1.customers.create(params={"payment_method": "pm_card_visa"})
    price = client_.v1.prices.list(params={"lookup_keys": ["portal_pro_month"]}).data[0]
    client_.v1.subscriptions.create(
        params={"customer": customer.id, "items": [{"price": price.id}],
                "default_payment_method": customer.invoice_settings.default_payment_method
                or "pm_card_visa", "discounts": [{"promotion_code": code.id}]}
    )  # fmt: skip
    promotion_code_sync(promotion_code_id=code.id)

    assert f"The code {code.code} has been used as many times as it can be" in refused(
        client, code.code
    )


def test_a_code_that_expires_says_so_and_the_page_changes_with_time_alone(
    client: Client, demo_catalog: str, local_stripe, monkeypatch
) -> None:
    # Stripe takes an expiry in the future by its own clock, which other tests may have moved
    # ahead of the wall clock; Portal's clock is then moved past it.
    server_now = int(local_stripe.admin("GET", "/_local/clock")["now"])
    soon = max(server_now, int(time.time())) + 60
    code = promotion_code_make(expires_at=soon)
    first = client.get(URL, {"promo": code.code})
    assert "data-discounted-price>$37.50<" in offer(first.content.decode(), "pro")  # 25% off
    later = datetime.fromtimestamp(soon + 1, tz=UTC)
    monkeypatch.setattr(promotions, "timezone", SimpleNamespace(now=lambda: later))

    again = client.get(URL, {"promo": code.code}, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 200
    assert f"The code {code.code} has expired" in refused(client, code.code)


# --- Bad input ------------------------------------------------------------------------------------

BAD_CODES = [
    "LAUNCH 20",
    "LAUNCH２０",
    "ＬＡＵＮＣＨ20",
    "LAUNCH20\u200b",
    "L" * 10_000,
    "' OR 1=1 --",
    "LAUNCH20'; DROP TABLE djstripe_promotioncode; --",
    '<script>alert("promo")</script>',
    "%00",
]


@pytest.mark.parametrize("code", BAD_CODES)
def test_bad_input_gets_a_message_never_an_error_page_and_nothing_is_kept(
    client: Client, demo_catalog: str, code: str
) -> None:
    client.get(URL)  # what every visitor's first page keeps
    kept = len(cache._cache)  # type: ignore[attr-defined]
    codes = PromotionCode.objects.count()

    for headers in ({}, HTMX):
        response = client.get(URL, {"promo": code}, **headers)
        assert response.status_code == (200 if headers else 400)
        html = response.content.decode()
        assert PROMO_CODE_ERROR.replace("'", "&#x27;") in html
        assert "data-price>$50<" in offer(html, "pro")
        assert "<script>alert" not in html
        assert 'name="promo"' not in html

    assert len(cache._cache) == kept  # type: ignore[attr-defined]
    assert PromotionCode.objects.count() == codes


def test_a_null_character_is_refused_before_the_page(client: Client, demo_catalog: str) -> None:
    response = client.get(URL, {"promo": "LAUNCH\x0020"})

    assert response.status_code == 400
    assert response.content == b"Null characters are not allowed in URLs or form fields."


def test_an_unknown_code_is_not_kept_either(client: Client, demo_catalog: str) -> None:
    client.get(URL)
    kept = len(cache._cache)  # type: ignore[attr-defined]

    for number in range(3):
        assert client.get(URL, {"promo": f"UNKNOWN{number}"}).status_code == 200

    assert len(cache._cache) == kept  # type: ignore[attr-defined]


def test_a_bad_code_next_to_bad_seats_gets_both_messages(client: Client, demo_catalog: str) -> None:
    html = client.get(URL, {"promo": "no way", "seats": "0"}).content.decode()

    assert PROMO_CODE_ERROR in html.replace("&#x27;", "'")
    assert SEATS_ERROR in html
