from __future__ import annotations

import socket

import pytest

from portal.stripe_client import (
    StripeRequestError,
    StripeUnavailableError,
    stripe_client,
    translate_stripe_errors,
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_client_talks_to_the_configured_stripe(stripe_settings):
    product = stripe_client().v1.products.create(params={"name": "Client check"})

    assert stripe_client().v1.products.retrieve(product.id).name == "Client check"


def test_an_unreachable_stripe_becomes_stripe_unavailable(stripe_settings, settings):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{closed_port()}"

    with (
        pytest.raises(StripeUnavailableError, match="to list products"),
        translate_stripe_errors("list products"),
    ):
        stripe_client().v1.products.list()


def test_a_refused_request_becomes_a_stripe_request_error(stripe_settings):
    with pytest.raises(StripeRequestError) as caught, translate_stripe_errors("fetch a product"):
        stripe_client().v1.products.retrieve("prod_does_not_exist")

    assert caught.value.code == "resource_missing"


def test_a_bad_api_key_becomes_stripe_unavailable(stripe_settings, settings):
    settings.STRIPE_TEST_SECRET_KEY = "not-a-key"

    with (
        pytest.raises(StripeUnavailableError, match="refused the API key"),
        translate_stripe_errors("list products"),
    ):
        stripe_client().v1.products.list()
