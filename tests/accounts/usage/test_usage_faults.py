"""Stripe going down in the middle of a flush only delays the usage: once it is back, its
meter has counted exactly what was recorded, for every customer."""

from __future__ import annotations

import time
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
import stripe

from accounts.billing.checkout import holder_customer_ensure
from accounts.models import UsageBatch, User
from accounts.usage import usage_flush, usage_record
from portal.stripe_client import stripe_client, stripe_json
from pricing import metadata as pricing_metadata
from pricing.metadata import MeterMetadata
from pricing.services import meter_store
from stripe_server.testing import LocalStripe, running_server
from tests.accounts.billing_helpers import unique
from tests.accounts.usage.conftest import metered_plan_create, metered_subscription_start

pytestmark = pytest.mark.django_db

RECORDED = {0: [5, 7], 1: [11], 2: [13, 17, 19]}


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
        event_name = unique("calls").replace("-", "_")
        meter = stripe_client().v1.billing.meters.create(
            params={
                "display_name": "API calls",
                "event_name": event_name,
                "default_aggregation": {"formula": "sum"},
            }
        )
        meter_store(data=stripe_json(meter))
        metadata = MeterMetadata("api_calls", event_name, "API call", "API calls")
        monkeypatch.setattr(pricing_metadata, "ACTIVE_METERS", [metadata])
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
