"""Stripe going down in the middle of a flush, or a flush worker killed half-way, only delays
the usage: in the end Stripe's meter has counted exactly what was recorded, for every customer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import stripe

from accounts.billing.checkout import holder_customer_ensure
from accounts.models import UsageBatch, User
from accounts.usage import usage_flush, usage_record
from portal.stripe_client import stripe_client
from stripe_server.testing import LocalStripe, running_server
from tests.accounts.billing_helpers import unique
from tests.accounts.gating_support import demo_plans_ensure
from tests.accounts.usage.conftest import (
    demo_meter_synced,
    demo_metered_subscribe,
    meter_of_its_own,
    metered_plan_create,
    metered_subscription_start,
)
from tests.processes import subprocess_database_url

pytestmark = pytest.mark.django_db

RECORDED = {0: [5, 7], 1: [11], 2: [13, 17, 19]}
HOLDERS_KILLED = 20
ROOT = Path(__file__).resolve().parents[3]


def _point_at(server: LocalStripe, settings, monkeypatch) -> None:
    settings.STRIPE_API_BASE = server.api_base
    settings.STRIPE_API_HOST = server.api_base
    settings.STRIPE_TEST_SECRET_KEY = server.api_key
    settings.STRIPE_LIVE_MODE = False
    monkeypatch.setattr(stripe, "api_base", server.api_base)


def test_stripe_down_mid_flush_delays_usage_and_counts_it_once(
    settings, monkeypatch, tmp_path
) -> None:
    started = int(time.time())
    with running_server(data_dir=tmp_path) as server:
        _point_at(server, settings, monkeypatch)
        port = urlsplit(server.api_base).port
        metadata = meter_of_its_own(monkeypatch)
        plan = metered_plan_create(meter=metadata)
        users = []
        for position in RECORDED:
            user = User.objects.create_user(email=f"fault-{position}@example.com")
            holder_customer_ensure(holder=user)
            metered_subscription_start(holder=user, plan=plan)
            users.append(user)
        for position, values in RECORDED.items():
            for value in values:
                usage_record(holder=users[position], meter="api_calls", value=value)

        def stop_after_the_first_batch(line: str) -> None:
            if line.startswith("[1/"):
                server.process.terminate()
                server.process.wait(timeout=10)

        first = usage_flush(progress=stop_after_the_first_batch)

    assert first.sent == 1
    assert first.waiting == len(RECORDED) - 1
    assert UsageBatch.objects.filter(sent_at__isnull=True).count() == len(RECORDED) - 1

    # Stripe is back, with what it had stored.
    with running_server(port=port, data_dir=tmp_path) as server:
        _point_at(server, settings, monkeypatch)
        second = usage_flush()
        assert (second.sent, second.waiting, second.failed) == (len(RECORDED) - 1, 0, 0)
        client = stripe_client()
        now = int(time.time())
        for position, values in RECORDED.items():
            summaries = client.v1.billing.meters.event_summaries.list(
                plan.meter_id,
                params={
                    "customer": users[position].customer.id,
                    "start_time": started - started % 60,
                    "end_time": now - now % 60 + 60,
                },
            )
            counted = sum(Decimal(str(s.aggregated_value)) for s in summaries.data)
            assert counted == sum(values), users[position].email


@pytest.mark.django_db(transaction=True)
def test_a_flush_worker_killed_half_way_loses_and_doubles_nothing(stripe_settings) -> None:
    """`manage.py usage_flush` killed (SIGKILL) once it has sent some batches: the next flush
    sends the rest, and a batch Stripe took before the kill is not counted again."""
    demo_plans_ensure(stripe_settings.api_base)
    meter_id = demo_meter_synced()
    started = int(time.time())
    holders = []
    for position in range(HOLDERS_KILLED):
        user = User.objects.create_user(email=f"killed-{position}-{unique('u')}@example.com")
        demo_metered_subscribe(user, "starter")
        usage_record(holder=user, meter="api_calls", value=position + 1)
        holders.append(user)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "usage_flush"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": subprocess_database_url(),
            "STRIPE_API_BASE": stripe_settings.api_base,
            "STRIPE_TEST_SECRET_KEY": stripe_settings.api_key,
            "CELERY_BROKER_URL": "",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not UsageBatch.objects.filter(sent_at__isnull=False).exists():
        assert worker.poll() is None, "the flush ended before it could be killed"
        assert time.monotonic() < deadline, "the flush sent nothing"
        time.sleep(0.005)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    sent_before = UsageBatch.objects.filter(sent_at__isnull=False).count()
    assert 0 < sent_before < HOLDERS_KILLED

    report = usage_flush()

    assert report.waiting == report.failed == 0
    assert not UsageBatch.objects.filter(sent_at__isnull=True).exists()
    now = int(time.time())
    client = stripe_client()
    for position, user in enumerate(holders):
        summaries = client.v1.billing.meters.event_summaries.list(
            meter_id,
            params={
                "customer": user.customer.id,
                "start_time": started - started % 60,
                "end_time": now - now % 60 + 60,
            },
        )
        assert sum(s.aggregated_value for s in summaries.data) == position + 1, user.email
