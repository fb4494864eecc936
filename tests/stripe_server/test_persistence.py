"""State survives a restart; `--fresh` starts empty."""

from __future__ import annotations

from pathlib import Path

import pytest
import stripe

from stripe_server.testing import running_server


def _client(server) -> stripe.StripeClient:
    return stripe.StripeClient(server.api_key, base_addresses={"api": server.api_base})


def test_objects_survive_restart_and_fresh_wipes_them(tmp_path: Path) -> None:
    with running_server(data_dir=tmp_path) as server:
        product = _client(server).v1.products.create({"name": "Durable"})
    with running_server(data_dir=tmp_path) as server:
        assert _client(server).v1.products.retrieve(product.id).name == "Durable"
    with (
        running_server(data_dir=tmp_path, fresh=True) as server,
        pytest.raises(stripe.InvalidRequestError),
    ):
        _client(server).v1.products.retrieve(product.id)


def test_meters_and_their_events_survive_restart(tmp_path: Path) -> None:
    with running_server(data_dir=tmp_path) as server:
        sdk = _client(server)
        meter = sdk.v1.billing.meters.create(
            {"display_name": "Calls", "event_name": "calls",
             "default_aggregation": {"formula": "sum"}}
        )  # fmt: skip
        customer = sdk.v1.customers.create({"email": "durable@example.com"})
        event = sdk.v1.billing.meter_events.create(
            {"event_name": "calls", "identifier": "first",
             "payload": {"stripe_customer_id": customer.id, "value": "42"}}
        )  # fmt: skip
    minute = event.timestamp // 60 * 60
    window = {"customer": customer.id, "start_time": minute, "end_time": minute + 60}
    with running_server(data_dir=tmp_path) as server:
        sdk = _client(server)
        summary = sdk.v1.billing.meters.event_summaries.list(meter.id, window).data[0]
        assert summary.aggregated_value == 42
        with pytest.raises(stripe.InvalidRequestError, match="identifier first"):
            sdk.v1.billing.meter_events.create(
                {"event_name": "calls", "identifier": "first",
                 "payload": {"stripe_customer_id": customer.id, "value": "1"}}
            )  # fmt: skip
