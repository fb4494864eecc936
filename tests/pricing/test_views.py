"""/pricing/: the full page, the htmx answers, seats, bad input, the current plan, the shared
render for visitors."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
import stripe
from django.test import Client
from django.utils import timezone
from djstripe.models import Price

from accounts.billing.checkout import holder_customer_ensure, holder_subscription_sync
from portal.stripe_client import stripe_client
from pricing import catalog, metadata
from pricing.forms import SEATS_ERROR
from pricing.metadata import ProductMetadata
from pricing.services import stripe_catalog_sync
from stripe_server.testing import LocalStripe

pytestmark = pytest.mark.django_db
URL = "/pricing/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def card(html: str, slug: str) -> str:
    """The HTML of one plan card."""
    match = re.search(rf'<article data-plan="{slug}".*?</article>', html, re.S)
    assert match, f"no card for {slug}"
    return match.group(0)


def offer(html: str, slug: str) -> str:
    """The HTML of one plan's offer (price, how it is worked out, what Subscribe sends): in its
    card on the full page, alone (swapped out of band) in an htmx answer."""
    start = html.find(f'id="plan-{slug}-offer"')
    assert start >= 0, f"no offer for {slug}"
    end = html.find('id="plan-', start + 1)
    return html[start : end if end >= 0 else len(html)]


def price_on(html: str, slug: str) -> str:
    match = re.search(r"data-price>([^<]*)<", offer(html, slug))
    assert match
    return match.group(1)


def test_full_page_shows_a_card_per_product_for_the_default_interval(
    client: Client, demo_catalog: str
) -> None:
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    for product in metadata.ACTIVE_PRODUCTS:
        assert f'data-plan="{product.slug}"' in html
    assert price_on(html, "basic") == "$10"
    assert price_on(html, "starter") == "$25"
    assert price_on(html, "pro") == "$50"
    assert "/month" in card(html, "pro")
    assert "Priority support" in card(html, "pro")
    assert "data-default-plan" in card(html, "starter")
    assert "data-default-plan" not in card(html, "pro")
    assert 'id="interval-month"' in html and 'aria-current="true"' in html
    assert "unknown" not in html.lower()
    assert "HX-Request" in response["Vary"]


def test_yearly_prices_show_savings_computed_from_the_prices(
    client: Client, demo_catalog: str
) -> None:
    html = client.get(URL, {"interval": "year"}).content.decode()
    assert price_on(html, "starter") == "$250"
    pro = card(html, "pro")
    assert "/year" in pro
    assert "$41.67/month, billed yearly" in pro
    # $500 a year against 12 x $50: 16.7% cheaper, shown rounded down.
    assert "Save 16%" in pro
    assert "save up to 16%" in html


def test_htmx_gets_only_each_plans_offer_and_the_toggle_out_of_band(
    client: Client, demo_catalog: str
) -> None:
    response = client.get(URL, {"interval": "year"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Reswap"] == "none"  # all of it is swapped out of band
    assert "<html" not in html and "<article" not in html and "features" not in html
    assert price_on(html, "basic") == "$100"
    for product in metadata.ACTIVE_PRODUCTS:
        assert re.search(rf'id="plan-{product.slug}-offer" hx-swap-oob="true"', html)
        assert 'name="price" value="price_' in offer(html, product.slug)
    assert 'id="interval-toggle" class="' in html
    assert re.search(r'id="interval-toggle"[^>]*hx-swap-oob="true"', html)
    assert re.search(r'id="interval-year"[^>]*aria-current="true"', html, re.S)
    assert 'name="interval" value="year"' in html
    assert re.search(r'id="pricing-errors" hx-swap-oob="true">\s*</div>', html)
    assert "HX-Request" in response["Vary"]
    full = client.get(URL, {"interval": "year"}).content.decode()
    assert len(html) * 4 < len(full)


def test_htmx_gets_the_whole_plans_partial_when_intervals_offer_different_plans(
    client: Client,
    make_plans: Callable[..., list[ProductMetadata]],
    use_products: Callable[[list[ProductMetadata]], None],
) -> None:
    both, monthly_only = make_plans(2)
    use_products([both, monthly_only])
    # Every interval offers both plans: only the offers are swapped.
    assert client.get(URL, {"interval": "year"}, **HTMX)["HX-Reswap"] == "none"
    stripe = stripe_client()
    for price in stripe.v1.prices.list(params={"product": monthly_only.stripe_id}).data:
        if price.recurring.interval == "year":
            stripe.v1.prices.update(price.id, params={"active": False})
    stripe_catalog_sync()
    response = client.get(URL, {"interval": "year"}, **HTMX)
    html = response.content.decode()
    assert "HX-Reswap" not in response
    assert html.count("<article data-plan=") == 1 and 'data-plan="plan-0"' in html
    assert re.search(r'id="interval-toggle"[^>]*hx-swap-oob="true"', html)
    monthly = client.get(URL, {"interval": "month"}, **HTMX).content.decode()
    assert monthly.count("<article data-plan=") == 2


def test_htmx_history_restore_gets_the_full_page(client: Client, demo_catalog: str) -> None:
    response = client.get(URL, {"interval": "year"}, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in response.content.decode()


def test_the_toggle_links_work_without_javascript(client: Client, demo_catalog: str) -> None:
    html = client.get(URL).content.decode()
    link = re.search(r'<a id="interval-year"\s+href="([^"]+)"\s+hx-get="([^"]+)"', html)
    assert link and link.group(1) == link.group(2)
    follow = client.get(URL + link.group(1).replace("&amp;", "&"))
    assert follow.status_code == 200
    assert "<html" in follow.content.decode()
    assert price_on(follow.content.decode(), "pro") == "$500"


@pytest.mark.parametrize(
    ("seats", "team", "packs"),
    [("1", "$10", "$50"), ("5", "$50", "$50"), ("7", "$66", "$50"), ("11", "$98", "$100")],
)
def test_seats_reprice_the_per_seat_cards_only(
    client: Client, demo_catalog: str, seats: str, team: str, packs: str
) -> None:
    html = client.get(URL, {"seats": seats}, **HTMX).content.decode()
    assert price_on(html, "team") == team
    assert price_on(html, "seat-packs") == packs
    assert price_on(html, "pro") == "$50"
    assert f"for {seats} seat" in offer(html, "team")
    assert f'name="seats" value="{seats}"' in offer(html, "team")
    assert 'name="seats"' not in offer(html, "pro")
    assert "Seats 1\N{EN DASH}5: $10 each" in offer(html, "team")
    assert "$50 per 10 seats" in offer(html, "seat-packs")
    assert re.search(rf'id="seat-plans-note"[^>]*>Prices below are for {seats} seat', html)


def test_yearly_per_seat_savings_use_the_seat_count(client: Client, demo_catalog: str) -> None:
    html = client.get(URL, {"seats": "7", "interval": "year"}).content.decode()
    team = offer(html, "team")
    assert price_on(html, "team") == "$660"  # 5 x $100 + 2 x $80
    assert "Save 16%" in team  # against 12 x $66 = $792


@pytest.mark.parametrize("query", [{"interval": "decade"}, {"interval": ""}, {"interval": "<b>"}])
def test_an_unknown_interval_is_a_400_with_a_message(
    client: Client, demo_catalog: str, query
) -> None:
    if query["interval"] == "":
        assert client.get(URL, query).status_code == 200  # empty means the default
        return
    response = client.get(URL, query)
    html = response.content.decode()
    assert response.status_code == 400
    assert "The billing interval must be “month” or “year”." in html
    assert "<b>" not in html.split("<main", 1)[1]  # echoed input is escaped
    assert price_on(html, "pro") == "$50"


@pytest.mark.parametrize("seats", ["0", "-1", "abc", "1000000000", "1e3", "10001"])
def test_bad_seat_counts_get_a_clear_message_never_a_500(
    client: Client, demo_catalog: str, seats: str
) -> None:
    full = client.get(URL, {"seats": seats})
    assert full.status_code == 400
    assert SEATS_ERROR in full.content.decode()
    partial = client.get(URL, {"seats": seats}, **HTMX)
    html = partial.content.decode()
    assert partial.status_code == 200  # so that htmx swaps the message in
    assert 'role="alert"' in html and SEATS_ERROR in html
    assert "for 1 seat" in offer(html, "team")


def test_seats_default_to_the_holders_quantity_and_accept_the_maximum(
    client: Client, demo_catalog: str, user
) -> None:
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert 'name="seats" type="number"' in html and 'value="1"' in html
    html = client.get(URL, {"seats": "10000"}, **HTMX).content.decode()
    assert price_on(html, "seat-packs") == "$50,000"


def test_price_displays_replace_the_computed_price_when_set(
    client: Client, demo_catalog: str, use_products: Callable[[list[ProductMetadata]], None]
) -> None:
    pro = next(product for product in metadata.ACTIVE_PRODUCTS if product.slug == "pro")
    team = next(product for product in metadata.ACTIVE_PRODUCTS if product.slug == "team")
    use_products(
        [
            ProductMetadata(**{**pro.__dict__, "price_displays": {"year": "Talk to us"}}),
            ProductMetadata(**{**team.__dict__, "price_displays": {"month": "From $8 a seat"}}),
        ]
    )
    monthly = client.get(URL, {"seats": "7"}).content.decode()
    assert price_on(monthly, "pro") == "$50"
    assert price_on(monthly, "team") == "From $8 a seat"
    assert "for 7 seats: $66" in offer(monthly, "team")
    yearly = client.get(URL, {"interval": "year"}).content.decode()
    assert price_on(yearly, "pro") == "Talk to us"
    assert "/year" not in offer(yearly, "pro")


def test_the_page_is_honest_when_no_plans_are_synced(client: Client, db) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert "No plans are published yet" in response.content.decode()


def test_the_page_reads_only_the_database(client: Client, demo_catalog: str, settings) -> None:
    # Stripe is unreachable from here on: the page must not need it.
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"
    previous, stripe.api_base = stripe.api_base, "http://127.0.0.1:9"
    try:
        response = client.get(URL, {"interval": "year", "seats": "3"})
    finally:
        stripe.api_base = previous
    assert response.status_code == 200
    assert price_on(response.content.decode(), "team") == "$300"


def subscribe(user, *, lookup_key: str) -> None:
    """Subscribe `user` in local Stripe, synced in as a finished checkout would leave it."""
    client = stripe_client()
    price = client.v1.prices.list(params={"lookup_keys": [lookup_key]}).data[0]
    customer = holder_customer_ensure(holder=user)
    client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [{"price": price.id}],
            "default_payment_method": "pm_card_visa",
        }
    )
    holder_subscription_sync(holder=user)
    user.refresh_from_db()
    assert user.subscription is not None


def test_a_subscribers_current_plan_is_marked(
    client: Client, demo_catalog: str, user, stripe_settings: LocalStripe
) -> None:
    subscribe(user, lookup_key="portal_pro_month")
    client.force_login(user)
    html = client.get(URL).content.decode()
    assert "data-current-plan" in card(html, "pro")
    assert "Your plan" in card(html, "pro")
    assert "data-current-plan" not in card(html, "starter")
    assert "Your plan" not in card(html, "starter")
    assert 'name="price"' not in offer(html, "pro")  # nothing to subscribe to
    assert 'name="price"' in offer(html, "starter")


def test_visitors_share_one_render_that_sends_them_to_sign_up_before_checkout(
    client: Client, demo_catalog: str
) -> None:
    first = client.get(URL, {"interval": "year"})
    second = Client().get(URL, {"interval": "year"})
    assert first.content == second.content
    html = first.content.decode()
    assert "csrfmiddlewaretoken" not in html and "X-CSRFToken" not in html
    form = re.search(r'<form method="get" action="([^"]+)" data-subscribe="pro">', html)
    assert form
    price = re.search(r'name="price" value="([^"]+)"', offer(html, "pro")).group(1)

    followed = Client().get(form.group(1), {"price": price}, follow=True)

    assert followed.redirect_chain[-1][0].startswith("/accounts/signup/?next=")
    assert price in followed.redirect_chain[-1][0]


def test_a_logged_in_visitor_posts_to_checkout_with_their_own_csrf_token(
    client: Client, demo_catalog: str, user
) -> None:
    client.force_login(user)
    html = client.get(URL).content.decode()
    tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
    assert len(tokens) == 1
    assert re.search(r'<form method="post" action="[^"]+" data-subscribe="pro">', html)
    checking = Client(enforce_csrf_checks=True)
    checking.cookies = client.cookies
    price = re.search(r'name="price" value="([^"]+)"', offer(html, "pro")).group(1)

    posted = checking.post(
        "/subscription/checkout/", {"price": price, "csrfmiddlewaretoken": tokens.pop()}
    )

    assert posted.status_code == 303 and "/_hosted/checkout/" in posted["Location"]


def test_a_catalog_change_is_on_the_shared_render_at_once(
    client: Client,
    make_plans: Callable[..., list[ProductMetadata]],
    use_products: Callable[[list[ProductMetadata]], None],
) -> None:
    (plan,) = make_plans(1)
    use_products([plan])
    assert price_on(client.get(URL).content.decode(), "plan-0") == "$10"
    stripe_client().v1.prices.create(
        params={
            "product": plan.stripe_id,
            "currency": "usd",
            "unit_amount": 1900,
            "recurring": {"interval": "month"},
        }
    )
    stripe_catalog_sync()  # as the price.created webhook would
    assert price_on(Client().get(URL).content.decode(), "plan-0") == "$19"


def test_a_write_elsewhere_shows_within_a_second_one_here_at_once(
    client: Client,
    make_plans: Callable[..., list[ProductMetadata]],
    use_products: Callable[[list[ProductMetadata]], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (plan,) = make_plans(1)
    use_products([plan])
    monkeypatch.setattr(catalog, "STAMP_REUSE_SECONDS", 0.3)
    assert price_on(client.get(URL).content.decode(), "plan-0") == "$10"
    monthly = Price.objects.get(product_id=plan.stripe_id, stripe_data__recurring__interval="month")

    # As another process's write looks from here: no signal reaches this one.
    data = {**monthly.stripe_data, "unit_amount": 1500, "unit_amount_decimal": "1500"}
    Price.objects.filter(id=monthly.id).update(stripe_data=data, djstripe_updated=timezone.now())
    assert price_on(Client().get(URL).content.decode(), "plan-0") == "$10"
    time.sleep(0.35)
    assert price_on(Client().get(URL).content.decode(), "plan-0") == "$15"

    # A write in this process (a sync, the admin, an in-process webhook) shows at once.
    monthly.refresh_from_db()
    monthly.stripe_data = {**data, "unit_amount": 1700, "unit_amount_decimal": "1700"}
    monthly.save()
    assert price_on(Client().get(URL).content.decode(), "plan-0") == "$17"


def test_metered_prices_are_described_on_their_plans_cards_in_both_intervals(
    client: Client, demo_catalog: str
) -> None:
    monthly = client.get(URL).content.decode()
    yearly = client.get(URL, {"interval": "year"}, **HTMX).content.decode()

    # Starter: 10,000 calls a month free, then 0.2 cents each; Pro: 100,000, then 0.1 cents.
    assert "10,000 API calls included, then $0.002 per API call, per month" in monthly
    assert "100,000 API calls included, then $0.001 per API call, per month" in monthly
    assert "120,000 API calls included, then $0.002 per API call, per year" in yearly
    assert "1,200,000 API calls included, then $0.001 per API call, per year" in yearly
    # Basic bills no usage.
    basic = monthly[
        monthly.index('id="plan-basic-offer"') : monthly.index('id="plan-starter-offer"')
    ]
    assert "API calls" not in basic
