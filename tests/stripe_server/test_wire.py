"""Stripe's wire format: auth, errors, pagination, idempotency, form decoding, 500s."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import stripe

from stripe_server.routing import ROUTES
from stripe_server.server import ServerConfig, StripeServer
from stripe_server.testing import LocalStripe
from stripe_server.wire import decode_form


def _get(url: str, key: str | None) -> tuple[int, dict]:
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_requests_without_a_test_key_get_401(local_stripe: LocalStripe) -> None:
    status, body = _get(f"{local_stripe.api_base}/v1/products", None)
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    status, _ = _get(f"{local_stripe.api_base}/v1/products", "sk_live_" + "x" * 24)
    assert status == 401


def test_unknown_url_is_a_stripe_404(local_stripe: LocalStripe) -> None:
    status, body = _get(f"{local_stripe.api_base}/v1/nothing_here", local_stripe.api_key)
    assert status == 404
    assert "Unrecognized request URL" in body["error"]["message"]


def test_form_decoding_handles_nested_brackets_and_lists() -> None:
    decoded = decode_form(
        "items[0][price]=p1&items[1][price]=p2&items[1][quantity]=3&expand[]=a&expand[]=b"
        "&metadata[k]=v&lookup_keys[0]=x"
    )
    assert decoded == {
        "items": [{"price": "p1"}, {"price": "p2", "quantity": "3"}],
        "expand": ["a", "b"],
        "metadata": {"k": "v"},
        "lookup_keys": ["x"],
    }


def test_pagination_with_starting_after_and_ending_before(sdk: stripe.StripeClient) -> None:
    product = sdk.v1.products.create({"name": "Paged"})
    ids = [
        sdk.v1.prices.create({"product": product.id, "currency": "usd", "unit_amount": n}).id
        for n in range(5)
    ]
    newest_first = list(reversed(ids))
    first = sdk.v1.prices.list({"product": product.id, "limit": 2})
    assert [p.id for p in first.data] == newest_first[:2]
    assert first.has_more is True
    second = sdk.v1.prices.list(
        {"product": product.id, "limit": 2, "starting_after": first.data[-1].id}
    )
    assert [p.id for p in second.data] == newest_first[2:4]
    back = sdk.v1.prices.list(
        {"product": product.id, "limit": 2, "ending_before": second.data[0].id}
    )
    assert [p.id for p in back.data] == newest_first[:2]
    everything = [p.id for p in sdk.v1.prices.list({"product": product.id, "limit": 2})
                  .auto_paging_iter()]  # fmt: skip
    assert everything == newest_first


def test_idempotency_key_replays_and_rejects_other_parameters(
    sdk: stripe.StripeClient,
) -> None:
    key = str(uuid.uuid4())
    first = sdk.v1.products.create({"name": "Once"}, {"idempotency_key": key})
    again = sdk.v1.products.create({"name": "Once"}, {"idempotency_key": key})
    assert again.id == first.id
    with pytest.raises(stripe.IdempotencyError):
        sdk.v1.products.create({"name": "Other"}, {"idempotency_key": key})


def test_unexpected_exception_becomes_a_logged_500_api_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(_ctx: object) -> dict:
        raise RuntimeError("boom")

    # The route exists for this test only: the conformance test lists every route.
    monkeypatch.setattr(ROUTES, "_routes", list(ROUTES.routes()))
    ROUTES.add("GET", "/v1/test_only_explodes", explode)
    server = StripeServer(ServerConfig(port=0, data_dir=tmp_path))
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        status, body = _get(f"{server.address}/v1/test_only_explodes", "sk_test_" + "a" * 24)
        assert status == 500
        assert body["error"]["type"] == "api_error"
        # The connection survived: the next request is answered normally.
        status, _ = _get(f"{server.address}/v1/products", "sk_test_" + "a" * 24)
        assert status == 200
    finally:
        server.httpd.shutdown()
        server.close()
