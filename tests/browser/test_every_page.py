"""Every page Portal serves, and the local Stripe server's hosted pages, for each kind of visitor,
at 1280 and 390 px: axe-core finds no serious or critical violation and nothing makes the page
scroll sideways (`tests/browser/accessibility.py`).

`PAGES` lists them, one line a page: who looks, the URL (with `{names}` from that visitor's
world) and, for a state a URL alone does not reach, what to do first. A page added to Portal
must be added here: `test_every_page_portal_serves_is_listed` fails until it is.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import stripe
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.test import Client
from django.urls import resolve
from djstripe.models import Price
from playwright.sync_api import Browser, Page, expect

from accounts.billing.customer_portal import billing_portal_session_create
from accounts.models import User
from accounts.teams.services import team_create, team_invitation_create
from portal.management.commands.runlocal import DEMO_ENVIRONMENT
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import subscription_start
from tests.accounts.teams.team_helpers import member_join
from tests.browser.accessibility import WIDTHS, page_problems
from tests.browser.helpers import log_in
from tests.hardening.routes import all_routes

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-passphrase-for-pages"


# --- What to do on a page before it is checked -------------------------------------------------


def open_account_menu(page: Page) -> None:
    page.locator("[data-account-menu] > summary").click()
    expect(page.locator("[data-team-menu], [data-team-switch]").first).to_be_visible()


def log_in_wrongly(page: Page) -> None:
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert").first).to_be_visible()


def sign_up_with_a_short_password(page: Page) -> None:
    page.get_by_label("Email").fill(f"short-{uuid.uuid4().hex[:6]}@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password confirmation").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("[aria-invalid='true']").first).to_be_visible()


def invite_a_bad_address(page: Page) -> None:
    page.get_by_label("Email address").fill("not an address")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("[aria-invalid='true']").first).to_be_visible()


def pay_with_a_declined_card(page: Page) -> None:
    if page.get_by_label("Email").is_editable():
        page.get_by_label("Email").fill("declined@example.com")
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile("^Pay")).click()
    expect(page.get_by_role("alert")).to_contain_text("declined")


def pay_with_no_card_number(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^(Pay|Save card)")).click()
    expect(page.get_by_role("alert")).to_be_visible()


def apply_an_unknown_code(page: Page) -> None:
    page.get_by_label("Promotion code").fill("NOSUCHCODE")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("alert")).to_contain_text("invalid")


def choose_another_plan(page: Page) -> None:
    page.get_by_role("radio").filter(has_not=page.locator(":disabled")).first.check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Confirm your new plan")).to_be_visible()


@dataclass(frozen=True)
class Visit:
    who: str
    url: str
    before: Callable[[Page], None] | None = None

    @property
    def label(self) -> str:
        return self.url + (f" ({self.before.__name__})" if self.before else "")


# --- The pages -----------------------------------------------------------------------------------

# Who looks: "visitor" (not logged in), "newcomer" (signed up, address not verified yet),
# "subscriber" (a user on Pro, users holding subscriptions: Portal's default), "team_admin"
# (`make run`'s demo: teams hold subscriptions; an admin of a team on the per-seat plan, a seat
# change waiting), "staff" (the admin site), "hosted" (the local Stripe server's pages).
PAGES = [
    Visit("visitor", "/"),
    Visit("visitor", "/pricing/"),
    Visit("visitor", "/pricing/?interval=year&seats=7"),
    Visit("visitor", "/pricing/?promo=LAUNCH20"),
    Visit("visitor", "/pricing/?seats=0"),
    Visit("visitor", "/subscription/checkout/canceled/?interval=year"),
    Visit("visitor", "/accounts/login/"),
    Visit("visitor", "/accounts/login/", log_in_wrongly),
    Visit("visitor", "/accounts/signup/"),
    Visit("visitor", "/accounts/signup/?next={checkout_next}"),
    Visit("visitor", "/accounts/signup/", sign_up_with_a_short_password),
    Visit("visitor", "/accounts/password/reset/"),
    Visit("visitor", "/accounts/password/reset/done/"),
    Visit("visitor", "/accounts/password/reset/key/done/"),
    Visit("visitor", "/accounts/confirm-email/"),
    Visit("visitor", "/accounts/inactive/"),
    Visit("visitor", "/accounts/3rdparty/login/cancelled/"),
    Visit("visitor", "/accounts/3rdparty/login/error/"),
    Visit("visitor", "/teams/invitations/{invitation}/"),
    Visit("visitor", "/accounts/login/?next=/teams/invitations/{invitation}/"),
    Visit("visitor", "/teams/invitations/no-such-invitation/"),
    Visit("newcomer", "/accounts/verify-email/"),
    Visit("newcomer", "/subscription/"),
    Visit("subscriber", "/"),
    Visit("subscriber", "/", open_account_menu),
    Visit("subscriber", "/pricing/"),
    Visit("subscriber", "/pricing/?interval=year"),
    Visit("subscriber", "/pricing/?promo=LAUNCH20"),
    Visit("subscriber", "/subscription/"),
    Visit("subscriber", "/subscription/invoices/"),
    Visit("subscriber", "/subscription/change/?plan=basic"),
    Visit("subscriber", "/subscription/change/?plan=pro&interval=year"),
    Visit("subscriber", "/subscription/change/?plan=team&seats=3"),
    Visit("subscriber", "/subscription/change/?plan=nope"),
    Visit("subscriber", "/subscription/checkout/?price={starter_price}"),
    Visit("subscriber", "/subscription/confirm/"),
    Visit("subscriber", "/subscription/demo/"),
    Visit("subscriber", "/subscription/demo/pro/"),
    Visit("subscriber", "/subscription/demo/members/"),
    Visit("subscriber", "/teams/"),
    Visit("subscriber", "/teams/{team}/"),
    Visit("subscriber", "/accounts/profile/"),
    Visit("subscriber", "/accounts/email/"),
    Visit("subscriber", "/accounts/password/change/"),
    Visit("subscriber", "/accounts/2fa/"),
    Visit("subscriber", "/accounts/2fa/totp/activate/"),
    Visit("subscriber", "/accounts/reauthenticate/"),
    Visit("subscriber", "/accounts/reauthenticate/code/"),
    Visit("subscriber", "/accounts/2fa/recovery-codes/generate/"),
    Visit("subscriber", "/accounts/3rdparty/"),
    Visit("subscriber", "/accounts/logout/"),
    Visit("team_admin", "/teams/{team}/"),
    Visit("team_admin", "/teams/{team}/", invite_a_bad_address),
    Visit("team_admin", "/teams/{team}/", open_account_menu),
    Visit("team_admin", "/teams/"),
    Visit("team_admin", "/pricing/"),
    Visit("team_admin", "/subscription/"),
    Visit("team_admin", "/subscription/change/?plan=seat-packs"),
    Visit("team_admin", "/subscription/change/?plan=pro"),
    Visit("team_admin", "/subscription/demo/"),
    Visit("team_admin", "/teams/invitations/{invitation}/"),
    Visit("staff", "/admin/"),
    Visit("staff", "/admin/accounts/user/"),
    Visit("staff", "/admin/accounts/user/{user_pk}/change/"),
    Visit("staff", "/admin/accounts/team/"),
    Visit("staff", "/admin/accounts/team/{team_pk}/change/"),
    Visit("staff", "/admin/accounts/webhookevent/"),
    Visit("staff", "/admin/accounts/subscriptionquantityupdate/"),
    Visit("staff", "/admin/djstripe/invoice/"),
    Visit("staff", "/admin/djstripe/subscription/"),
    Visit("staff", "/admin/billing/"),
    Visit("staff", "/admin/accounts/usagebatch/"),
    Visit("staff", "/admin/accounts/usagerecord/"),
    Visit("hosted", "{checkout}"),
    Visit("hosted", "{checkout}", pay_with_a_declined_card),
    Visit("hosted", "{checkout}", pay_with_no_card_number),
    Visit("hosted", "{checkout}", apply_an_unknown_code),
    Visit("hosted", "{trial_checkout}"),
    Visit("hosted", "{portal}"),
    Visit("hosted", "{portal}/subscriptions/{subscription}/update"),
    Visit("hosted", "{portal}/subscriptions/{subscription}/update", choose_another_plan),
    Visit("hosted", "{portal}/subscriptions/{subscription}/cancel"),
    Visit("hosted", "{portal}/payment-method"),
    Visit("hosted", "{portal}/payment-method", pay_with_no_card_number),
    Visit("hosted", "{invoice}"),
    Visit("hosted", "{stripe}/_hosted/checkout/cs_test_no_such_session"),
]

PERSONAS = sorted({visit.who for visit in PAGES})


# --- Each visitor's world -----------------------------------------------------------------------


@dataclass
class World:
    """The values a visitor's URLs name, and how to log them in (None: not logged in)."""

    values: dict[str, str] = field(default_factory=dict)
    login: str | None = None


def demo_catalog() -> None:
    call_command("bootstrap_demo_products", stdout=io.StringIO())
    call_command("bootstrap_subscriptions", stdout=io.StringIO())


def demo_price(lookup_key: str) -> Price:
    return Price.objects.get(lookup_key=lookup_key, active=True)


def user_make(prefix: str, **extra: Any) -> User:
    return User.objects.create_user(
        email=f"{prefix}-{uuid.uuid4().hex[:6]}@example.com", password=PASSWORD, **extra
    )


def visitor_world(settings, site: str) -> World:
    admin = user_make("inviter")
    team = team_create(name="Open Door", creator=admin)
    invitation = team_invitation_create(team=team, email="guest@example.com", invited_by=admin)
    price = demo_price("portal_team_seats_month")
    checkout = f"/subscription/checkout/?{urlencode({'price': price.id, 'seats': 3})}"
    return World({"invitation": invitation.token, "checkout_next": checkout})


def newcomer_world(settings, site: str) -> World:
    user = user_make("newcomer")
    EmailAddress.objects.filter(user=user).update(verified=False)
    return World(login=user.email)


def subscriber_world(settings, site: str) -> World:
    user = user_make("subscriber")
    team = team_create(name="Side Project", creator=user)
    subscription_start(holder=user, price=demo_price("portal_pro_month"))
    return World(
        {"team": team.slug, "starter_price": demo_price("portal_starter_month").id},
        login=user.email,
    )


def team_admin_world(settings, site: str) -> World:
    for name, value in DEMO_ENVIRONMENT.items():
        setattr(settings, name, value)
    admin = user_make("admin")
    team = team_create(name="Night Shift Operations Group", creator=admin)
    member_join(team=team, invited_by=admin, user=user_make("a-rather-long-member-address"))
    subscription_start(
        holder=team, price=demo_price("portal_team_seats_month"), quantity=team.get_quantity()
    )
    # One more member since the subscription: the team page says when Stripe hears of it.
    member_join(team=team, invited_by=admin)
    invitation = team_invitation_create(
        team=team, email="invited-colleague@example.com", invited_by=admin
    )
    return World({"team": team.slug, "invitation": invitation.token}, login=admin.email)


def staff_world(settings, site: str) -> World:
    staff = user_make("staff", is_staff=True, is_superuser=True)
    team = team_create(name="Staff Room", creator=staff)
    return World({"user_pk": str(staff.pk), "team_pk": str(team.pk)}, login=staff.email)


def hosted_world(settings, site: str) -> World:
    client = stripe_client()
    pro = demo_price("portal_pro_month")
    urls = {"success_url": f"{site}/done?session_id={{CHECKOUT_SESSION_ID}}", "cancel_url": site}
    checkout = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": pro.id, "quantity": 1}],
            "allow_promotion_codes": True,
            **urls,
        }
    )
    trial = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": demo_price("portal_starter_month").id, "quantity": 1}],
            "payment_method_collection": "if_required",
            "subscription_data": {"trial_period_days": 7},
            "customer_email": "trial@example.com",
            **urls,
        }
    )
    user = user_make("hosted")
    subscription_id = subscription_start(holder=user, price=pro)
    user.refresh_from_db()
    portal = billing_portal_session_create(holder=user, return_url=site)
    invoice_id = client.v1.subscriptions.retrieve(subscription_id).latest_invoice
    invoice = client.v1.invoices.retrieve(invoice_id)
    return World(
        {
            "checkout": checkout.url,
            "trial_checkout": trial.url,
            "portal": portal.rstrip("/"),
            "subscription": subscription_id,
            "invoice": invoice.hosted_invoice_url,
            "stripe": stripe.api_base,
        }
    )


WORLDS: dict[str, Callable[..., World]] = {
    "visitor": visitor_world,
    "newcomer": newcomer_world,
    "subscriber": subscriber_world,
    "team_admin": team_admin_world,
    "staff": staff_world,
    "hosted": hosted_world,
}


# --- The tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PERSONAS)
def test_every_page_is_accessible_and_fits_the_screen(
    who: str, browser: Browser, live_server, stripe_settings, settings, site: str
) -> None:
    demo_catalog()
    world = WORLDS[who](settings, site)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    if world.login:
        log_in(page, world.login, PASSWORD)
    problems: list[str] = []
    try:
        for visit in (visit for visit in PAGES if visit.who == who):
            url = visit.url.format(**world.values)
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(url)
                if visit.before is not None:
                    visit.before(page)
                problems += [f"{visit.label} at {width} px: {p}" for p in page_problems(page)]
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_every_page_portal_serves_is_listed(client: Client, django_user_model, stripe_settings):
    """Each route that shows a page (200 to a visitor or a logged-in user) is in `PAGES`."""
    user = django_user_model.objects.create_user(email="lister@example.com", password=PASSWORD)
    logged_in = Client()
    logged_in.force_login(user)
    listed = set()
    for visit in PAGES:
        if visit.who != "hosted":
            listed.add(resolve(visit.url.split("?")[0].format_map(_Any())).url_name)
    missing = []
    for route in all_routes():
        if route.is_admin or "<" in route.template:
            continue
        shows_a_page = any(c.get(route.path()).status_code == 200 for c in (client, logged_in))
        if shows_a_page and route.name.split(":")[-1] not in listed:
            missing.append(f"/{route.template} ({route.name})")
    assert not missing, "Pages not in PAGES: " + ", ".join(missing)


class _Any(dict):
    """Fills every `{name}` of a URL with a sample value, to resolve it."""

    def __missing__(self, key: str) -> str:
        return "1" if key.endswith("_pk") else "sample"
