"""The billing dashboard at /admin/billing/: staff only, its figures those of the snapshots
(checked against arithmetic written out here), its charts drawn with no data, one month and
twelve, and a fixed number of queries."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.billing.checkout import holder_customer_ensure
from accounts.metrics.models import BillingSnapshot, MrrSnapshot
from accounts.metrics.selectors import billing_dashboard, month_start, months_back
from accounts.metrics.services import billing_snapshot_take
from accounts.models import UsageBatch, UsageRecord, User
from accounts.usage import usage_record
from tests.accounts.billing_helpers import past_due_subscription_start, plan_price_create
from tests.accounts.metrics.conftest import Mix, holder_create

pytestmark = pytest.mark.django_db

URL = "/admin/billing/"


def figure(page: str, name: str, currency: str | None = None) -> str:
    """The text of a `data-figure` (in a currency's block, when given)."""
    if currency is not None:
        page = page[page.index(f'data-currency="{currency}"') :]
    found = re.search(rf'data-figure="{name}">([^<]*)<', page)
    assert found, name
    return found.group(1).strip()


def table(page: str, name: str) -> str:
    start = page.index(f'data-table="{name}"')
    return page[start : page.index("</table>", start)]


def row(table_html: str, month: date) -> str:
    start = table_html.index(f'data-month="{month:%Y-%m}"')
    return table_html[start : table_html.index("</tr>", start)]


def chart(page: str, chart_id: str) -> str:
    start = page.index(f'data-chart="{chart_id}"')
    return page[page.rindex("<svg", 0, start) : page.index("</svg>", start)]


def test_visitors_and_users_who_are_not_staff_are_sent_to_the_admin_login(client, user) -> None:
    answer = client.get(URL)
    assert answer.status_code == 302
    assert answer["Location"].startswith(f"{reverse('admin:login')}?next=/admin/billing/")

    client.force_login(user)
    answer = client.get(URL)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("admin:login"))


def test_the_admin_index_links_to_the_dashboard_and_only_get_is_answered(admin_client) -> None:
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert f'href="{URL}"' in index

    assert admin_client.post(URL).status_code == 405


def test_staff_see_todays_figures_history_movements_trials_and_past_due(
    admin_client, mix: Mix
) -> None:
    now = timezone.now()
    yesterday = billing_snapshot_take(now=now - timedelta(days=1)).date
    mix.seats_set("tiered", 9)  # +16.00
    mix.seats_set("package", 15)  # -50.00
    mix.cancel("canceling")  # -15.00
    mix.start("new", plan_price_create(unit_amount=1200))  # +12.00
    today = billing_snapshot_take(now=now).date

    answer = admin_client.get(URL)

    assert answer.status_code == 200
    page = answer.content.decode()
    # 356.67 (yesterday) + 12.00 + 16.00 - 50.00 - 15.00 = 319.67
    assert figure(page, "mrr", "usd") == "$319.67"
    assert figure(page, "arr", "usd") == "$3,836.04"  # 319.67 x 12
    assert figure(page, "subscribers", "usd") == "7"
    assert figure(page, "arpu", "usd") == "$45.67"  # 319.67 / 7 = 45.667...
    assert figure(page, "mrr", "eur") == "€20.00"
    # By plan, largest first, with its share of 319.67 (100.00 is 31.28%, 82.00 25.65%...).
    plans = re.findall(
        r'<td class="num">([^<]*)</td><td class="num">(\d+)%', table(page, "plans-usd")
    )
    assert plans == [
        ("$100.00", "31"),
        ("$82.00", "26"),
        ("$41.67", "13"),
        ("$40.00", "13"),
        ("$24.00", "8"),
        ("$20.00", "6"),
        ("$12.00", "4"),
    ]

    movements = row(table(page, "history-usd"), month_start(today))
    assert re.findall(r'data-movement="(\w+)">([^<]*)<', movements) == [
        ("new", "$12.00"),
        ("expansion", "$16.00"),
        ("contraction", "$50.00"),
        ("churn", "$15.00"),
        ("net", "-$37.00"),
    ]
    history = table(page, "history-usd")
    assert "$319.67" in row(history, month_start(today))
    if month_start(yesterday) != month_start(today):
        assert "$356.67" in row(history, month_start(yesterday))
    assert "No snapshot" in row(history, months_back(month_start(today), 11))

    assert figure(page, "trials-running") == "1"
    assert figure(page, "trial-to-paid") == "—"  # no trial has ended yet

    past_due = table(page, "past-due")
    assert f'data-subscription="{mix.subscriptions["past_due"]}"' in past_due
    assert mix.holders["past_due"].email in past_due
    assert "$40.00 due, 1 attempt" in past_due
    assert "None scheduled" not in past_due  # Stripe retries it


def test_with_no_snapshot_the_charts_say_so_and_every_month_reads_no_snapshot(
    admin_client,
) -> None:
    page = admin_client.get(URL).content.decode()

    assert "data-no-snapshot" in page
    for chart_id in ("mrr-chart-usd", "movements-chart-usd"):
        svg = chart(page, chart_id)
        assert 'role="img"' in svg and f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in svg
        assert re.search(rf'<title id="{chart_id}-title">[^<]+</title>', svg)
        assert "<rect" not in svg
        assert "data-empty" in svg
        assert ">Month</text>" in svg
    assert table(page, "history-usd").count("No snapshot") == 12


def test_one_month_of_snapshots_draws_one_bar(admin_client) -> None:
    snapshot_write(timezone.localdate(), mrr=123456)

    page = admin_client.get(URL).content.decode()

    svg = chart(page, "mrr-chart-usd")
    assert svg.count("<rect") == 1
    assert "data-empty" not in svg
    assert ">MRR (USD)</text>" in svg
    assert re.search(r"<title>\w{3} \d{4}: \$1,234.56</title>", svg)
    assert table(page, "history-usd").count("No snapshot") == 11


def test_twelve_months_draw_twelve_bars_scaled_to_their_figures(admin_client) -> None:
    this_month = month_start(timezone.localdate())
    months = [months_back(this_month, back) for back in range(11, -1, -1)]
    for number, month in enumerate(months, start=1):
        # MRR 100.00 x the month's number; each month 10.00 new and 2.00 churned.
        snapshot_write(month, mrr=number * 10000, new=1000, churn=200)

    page = admin_client.get(URL).content.decode()

    svg = chart(page, "mrr-chart-usd")
    heights = [float(h) for h in re.findall(r'data-kind="mrr"[^>]*height="([\d.]+)"', svg)]
    assert len(heights) == 12
    # Bars grow with MRR: month n is n times as tall as the first.
    assert all(abs(height - heights[0] * n) < 0.05 for n, height in enumerate(heights, start=1))
    movements = chart(page, "movements-chart-usd")
    assert movements.count('data-kind="new"') == 12
    assert movements.count('data-kind="churn"') == 12
    history = table(page, "history-usd")
    for number, month in enumerate(months, start=1):
        assert f"data-mrr>${number * 100:,}.00<" in row(history, month)
        assert 'data-movement="net">$8.00<' in row(history, month)  # 10.00 - 2.00


def test_the_dashboard_reads_a_fixed_number_of_queries(mix: Mix) -> None:
    billing_snapshot_take(now=timezone.now())
    with CaptureQueriesContext(connection) as first:
        billing_dashboard()
    another = holder_create("past-due-too")
    past_due_subscription_start(holder=another, price=plan_price_create(unit_amount=700))
    billing_snapshot_take(now=timezone.now())

    with CaptureQueriesContext(connection) as second:
        dashboard = billing_dashboard()

    assert dashboard.past_due.count == 2
    assert len(second) == len(first) <= 14


def snapshot_write(day: date, *, mrr: int, new: int = 0, churn: int = 0) -> None:
    """A day's snapshot with one currency's figures, as the snapshot service stores them."""
    taken_at = timezone.make_aware(datetime.combine(day, time(12)))
    snapshot = BillingSnapshot.objects.create(date=day, taken_at=taken_at)
    MrrSnapshot.objects.create(
        snapshot=snapshot,
        currency="usd",
        mrr=mrr,
        subscribers=1,
        new=new,
        churn=churn,
        by_plan={"prod_x": mrr},
    )


def test_usage_this_month_per_meter_with_what_waits_and_what_stripe_refused(
    admin_client, stripe_settings
) -> None:
    users = [User.objects.create_user(email=f"meter-{n}@example.com") for n in range(2)]
    for user in users:
        holder_customer_ensure(holder=user)
    usage_record(holder=users[0], meter="api_calls", value=1200)
    usage_record(holder=users[1], meter="api_calls", value=34)
    # Last month's usage is not this month's.
    old = UsageRecord.objects.create(
        customer_id=users[1].customer_id,
        meter="api_calls",
        value=5,
        recorded_at=timezone.now() - timedelta(days=62),
    )
    UsageBatch.objects.create(
        customer_id=old.customer_id,
        meter="api_calls",
        event_name="portal_api_calls",
        value=5,
        timestamp=old.recorded_at,
        identifier="portal_usage_refused",
        error="The event timestamp cannot be more than 35 days in past.",
    )

    page = admin_client.get(URL).content.decode()

    row = page[page.index('data-meter="api_calls"') :]
    row = row[: row.index("</tr>")]
    assert "<td data-used>1,234 API calls</td>" in row
    assert "<td data-holders>2</td>" in row
    assert ">3 records</a>" in row  # none sent yet, the old one included
    assert ">1 batch</a>" in row
