"""A local Stripe server for the whole session, and SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from stripe_server.testing import LocalStripe, running_server


@pytest.fixture(scope="session")
def local_stripe() -> Iterator[LocalStripe]:
    # Fast retries so the retry test does not wait Stripe-scale backoffs.
    with running_server(
        extra_args=["--webhook-retry-delay", "0.2", "--webhook-max-attempts", "4"]
    ) as server:
        yield server


@pytest.fixture
def client(local_stripe: LocalStripe) -> stripe.StripeClient:
    return stripe.StripeClient(
        local_stripe.api_key,
        base_addresses={"api": local_stripe.api_base},
        max_network_retries=0,
    )


@pytest.fixture
def legacy_stripe(local_stripe: LocalStripe) -> Iterator[None]:
    """Point the module-level SDK (what dj-stripe uses) at the server for one test."""
    previous = (stripe.api_base, stripe.api_key)
    stripe.api_base, stripe.api_key = local_stripe.api_base, local_stripe.api_key
    yield
    stripe.api_base, stripe.api_key = previous
