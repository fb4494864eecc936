"""The admin of billing: dj-stripe's models reduced to Portal's, a subscription list that names
holder, plan, status, seats, amount and period end (filtered and searched), customers linked to
their holders, read-only Stripe objects with "Sync from Stripe", and Dashboard links only with
real keys."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.urls import reverse
from djstripe.models import Customer, Product, Subscription

from accounts.billing.admin import PORTAL_ADMINS, djstripe_admin_arrange
from accounts.billing.checkout import holder_subscription_sync
from accounts.checks import portal_settings_check
from accounts.models import User
from portal.stripe_client import stripe_client
from tests.accounts.billing_helpers import plan_offer, plan_price_create, subscription_start
from tests.accounts.teams.team_helpers import team_with_members

pytestmark = pytest.mark.django_db

SUBSCRIPTIONS = reverse("admin:djstripe_subscription_changelist")


def user_with(email_prefix: str) -> User:
    return User.objects.create_user(
        email=f"{email_prefix}-{uuid.uuid4().hex[:6]}@example.com", password="a-long-passphrase"
    )


def result_rows(page: str) -> dict[str, str]:
    """The changelist's rows by the id in their first column (none without a result list)."""
    if 'id="result_list"' not in page:
        return {}
    rows = re.findall(r"<tr>(.*?)</tr>", page.split('id="result_list"', 1)[1], re.S)
    found = {}
    for row in rows:
        first = re.search(r'<th class="field-id"><a [^>]*>([^<]+)</a>', row)
        if first:
            found[first.group(1)] = row
    return found


def cell(row: str, field: str) -> str:
    found = re.search(rf'class="field-{field}[^"]*">(.*?)</t[dh]>', row, re.S)
    assert found, field
    return found.group(1).strip()


# --- Which models ---------------------------------------------------------------------------------


def test_only_the_dj_stripe_models_portal_uses_are_listed_unless_the_setting_says_all() -> None:
    djstripe_models = list(apps.get_app_config("djstripe").get_models())
    listed = {model for model in admin.site._registry if model._meta.app_label == "djstripe"}
    assert listed == set(PORTAL_ADMINS)
    assert len(djstripe_models) > 3 * len(listed)

    for show_all, expected in ((True, set(djstripe_models)), (False, set(PORTAL_ADMINS))):
        site = AdminSite(name=f"all-{show_all}")
        for model in djstripe_models:
            site.register(model)
        djstripe_admin_arrange(site=site, show_all=show_all)
        assert set(site._registry) == expected
        assert type(site._registry[Subscription]) is PORTAL_ADMINS[Subscription]


def test_a_show_all_setting_that_is_not_true_or_false_fails_the_checks(settings) -> None:
    settings.PORTAL_ADMIN_SHOW_ALL_DJSTRIPE_MODELS = "yes"

    errors = portal_settings_check()

    assert [error.id for error in errors] == ["accounts.E001"]
    assert "PORTAL_ADMIN_SHOW_ALL_DJSTRIPE_MODELS must be True or False" in errors[0].msg


def test_the_admin_index_lists_subscriptions_but_not_the_rest_of_dj_stripe(admin_client) -> None:
    index = admin_client.get(reverse("admin:index")).content.decode()

    assert SUBSCRIPTIONS in index
    assert "Webhook event triggers" not in index and "Idempotency keys" not in index


# --- Subscriptions --------------------------------------------------------------------------------


@pytest.fixture
def listed(stripe_settings, monkeypatch):
    """A user on a 15.00 plan, a team on a graduated plan at 7 seats, a user canceled."""
    flat = plan_price_create(unit_amount=1500)
    offered = plan_offer(monkeypatch, flat)
    tiered = plan_price_create(
        unit_amount=None,
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[{"up_to": 5, "unit_amount": 1000}, {"up_to": "inf", "unit_amount": 800}],
    )
    ada = user_with("ada")
    team = team_with_members(name=f"Team {uuid.uuid4().hex[:6]}")
    gone = user_with("gone")
    ids = {
        "user": subscription_start(holder=ada, price=flat),
        "team": subscription_start(holder=team, price=tiered, quantity=7),
        "gone": subscription_start(holder=gone, price=flat),
    }
    stripe_client().v1.subscriptions.cancel(ids["gone"])
    holder_subscription_sync(holder=gone)
    return {"ids": ids, "ada": ada, "team": team, "gone": gone, "flat": flat, "plan": offered}


def test_the_list_names_holder_plan_status_seats_amount_and_period_end(
    admin_client, listed
) -> None:
    page = admin_client.get(SUBSCRIPTIONS).content.decode()

    rows = result_rows(page)
    ids = listed["ids"]
    assert set(ids.values()) <= set(rows)
    user_row, team_row, gone_row = rows[ids["user"]], rows[ids["team"]], rows[ids["gone"]]
    ada_url = reverse("admin:accounts_user_change", args=[listed["ada"].pk])
    assert f'href="{ada_url}"' in cell(user_row, "holder")
    assert listed["ada"].email in cell(user_row, "holder")
    team_url = reverse("admin:accounts_team_change", args=[listed["team"].pk])
    assert f'href="{team_url}"' in cell(team_row, "holder")
    assert cell(user_row, "plan") == listed["plan"].name
    assert cell(user_row, "status") == "Active"
    assert cell(gone_row, "status") == "Canceled"
    assert cell(team_row, "seats") == "7"
    assert cell(team_row, "amount") == "$66.00 per month"  # 5 x 10.00 + 2 x 8.00
    assert cell(user_row, "amount") == "$15.00 per month"
    period_end = stripe_client().v1.subscriptions.retrieve(ids["user"])["items"].data[0]
    end = datetime.fromtimestamp(period_end.current_period_end, tz=UTC)
    assert f"{end:%Y}" in cell(user_row, "period_end")


def test_filters_by_status_and_plan_and_search_by_email(admin_client, listed) -> None:
    ids = listed["ids"]

    canceled = result_rows(admin_client.get(SUBSCRIPTIONS, {"status": "canceled"}).text)
    on_plan = result_rows(admin_client.get(SUBSCRIPTIONS, {"plan": listed["flat"].product.id}).text)
    by_email = result_rows(admin_client.get(SUBSCRIPTIONS, {"q": listed["ada"].email}).text)
    by_member = result_rows(
        admin_client.get(SUBSCRIPTIONS, {"q": listed["team"].billing_email}).text
    )
    unknown = admin_client.get(SUBSCRIPTIONS, {"status": "<script>"})

    assert ids["gone"] in canceled and ids["user"] not in canceled
    assert {ids["user"], ids["gone"]} <= set(on_plan) and ids["team"] not in on_plan
    assert list(by_email) == [ids["user"]]
    assert list(by_member) == [ids["team"]]
    assert unknown.status_code == 200 and result_rows(unknown.text) == {}


def test_the_list_reads_a_page_in_the_same_queries_however_many_rows(
    admin_client, listed, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(16):
        admin_client.get(SUBSCRIPTIONS)


# --- Read-only, sync, Dashboard links -------------------------------------------------------------


def test_stripe_objects_are_read_only_without_stripes_warning(admin_client, listed) -> None:
    subscription = Subscription.objects.get(id=listed["ids"]["user"])
    change = reverse("admin:djstripe_subscription_change", args=[subscription.pk])

    page = admin_client.get(change).content.decode()

    assert "will <strong>not</strong> be updated" not in page
    assert f"<h2>{subscription.id}</h2>" in page and "&lt;id=" not in page
    assert 'name="_save"' not in page
    assert "Stripe owns this object" in page
    assert listed["ada"].email in page  # the holder
    assert admin_client.post(change, {"stripe_data": "{}"}).status_code == 403
    assert admin_client.get(reverse("admin:djstripe_subscription_add")).status_code == 403
    delete = reverse("admin:djstripe_subscription_delete", args=[subscription.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


def test_sync_from_stripe_reads_the_selected_objects_again(admin_client, listed) -> None:
    subscription_id = listed["ids"]["user"]
    stripe_client().v1.subscriptions.update(subscription_id, params={"metadata": {"note": "new"}})
    missing = Product.objects.create(id=f"prod_gone_{uuid.uuid4().hex[:8]}", name="Gone")
    subscription = Subscription.objects.get(id=subscription_id)

    answer = admin_client.post(
        SUBSCRIPTIONS,
        {"action": "sync_from_stripe", "_selected_action": [subscription.pk]},
        follow=True,
    )
    refused = admin_client.post(
        reverse("admin:djstripe_product_changelist"),
        {"action": "sync_from_stripe", "_selected_action": [missing.pk]},
        follow=True,
    )

    assert "Synced 1 from Stripe." in answer.content.decode()
    assert Subscription.objects.get(id=subscription_id).stripe_data["metadata"] == {"note": "new"}
    assert refused.status_code == 200
    assert f"Could not sync {missing.id} from Stripe: No such product" in refused.content.decode()


def test_dashboard_links_only_when_portal_talks_to_stripe_itself(
    admin_client, listed, settings
) -> None:
    subscription = Subscription.objects.get(id=listed["ids"]["user"])
    change = reverse("admin:djstripe_subscription_change", args=[subscription.pk])
    # dj-stripe names the account the object belongs to: .../acct_.../test/subscriptions/sub_...
    link = re.compile(
        rf'href="https://dashboard\.stripe\.com/(acct_\w+/)?test/subscriptions/{subscription.id}"'
    )

    assert not link.search(admin_client.get(change).content.decode())

    settings.STRIPE_USES_LOCAL_SERVER = False
    settings.STRIPE_API_BASE = ""
    assert link.search(admin_client.get(change).content.decode())


def test_customers_name_their_holder(admin_client, listed) -> None:
    customer = Customer.objects.get(id=listed["ada"].customer.id)

    rows = result_rows(admin_client.get(reverse("admin:djstripe_customer_changelist")).text)
    page = admin_client.get(
        reverse("admin:djstripe_customer_change", args=[customer.pk])
    ).content.decode()

    assert listed["ada"].email in cell(rows[customer.id], "holder")
    assert reverse("admin:accounts_user_change", args=[listed["ada"].pk]) in page
