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
