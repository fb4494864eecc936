from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from stripe_server.testing import LocalStripe, running_server


@pytest.fixture
def password() -> str:
    return "correct-horse-battery-staple"


@pytest.fixture
def user(django_user_model, password):
    return django_user_model.objects.create_user(email="ada@example.com", password=password)


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # Tests serve the source static files; the hashed, compressed pipeline that production
    # uses is exercised by tests/portal/test_static_files.py through collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def local_stripe() -> Iterator[LocalStripe]:
    """The project's local Stripe server, one per test session, on a free port."""
    with running_server(
        extra_args=["--webhook-retry-delay", "0.2", "--webhook-max-attempts", "4"]
    ) as server:
        yield server


@pytest.fixture
def sdk(local_stripe: LocalStripe) -> stripe.StripeClient:
    """A `stripe.StripeClient` on the session's local Stripe server."""
    return stripe.StripeClient(
        local_stripe.api_key,
        base_addresses={"api": local_stripe.api_base},
        max_network_retries=0,
    )


@pytest.fixture
def stripe_settings(local_stripe: LocalStripe, settings) -> Iterator[LocalStripe]:
    """Point Portal (its services, and dj-stripe's module-level SDK) at the local Stripe server.

    The server's state lives for the whole session: tests create what they need and must not
    assume an empty Stripe. What would reach into other tests is undone afterwards: webhook
    endpoints the test registered are deleted (their URLs die with the test) and the delivery
    fault knobs are reset.
    """
    settings.STRIPE_API_BASE = local_stripe.api_base
    settings.STRIPE_API_HOST = local_stripe.api_base
    settings.STRIPE_TEST_SECRET_KEY = local_stripe.api_key
    settings.STRIPE_LIVE_MODE = False
    previous = stripe.api_base
    stripe.api_base = local_stripe.api_base
    sdk = stripe.StripeClient(local_stripe.api_key, base_addresses={"api": local_stripe.api_base})
    endpoints_before = {endpoint.id for endpoint in _webhook_endpoints(sdk)}
    yield local_stripe
    stripe.api_base = previous
    for endpoint in _webhook_endpoints(sdk):
        if endpoint.id not in endpoints_before:
            sdk.v1.webhook_endpoints.delete(endpoint.id)
    local_stripe.reset_delivery_faults()


def _webhook_endpoints(sdk: stripe.StripeClient) -> list[stripe.WebhookEndpoint]:
    return list(sdk.v1.webhook_endpoints.list({"limit": 100}).auto_paging_iter())


@pytest.fixture(autouse=True)
def _rate_limits_forgotten() -> Iterator[None]:
    """allauth's rate limits count in Django's cache, per IP address: every test client is
    127.0.0.1, so each test starts with none counted (and no used TOTP codes)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _pricing_stamp_forgotten() -> Iterator[None]:
    """Each test reads the catalog's stamp afresh: a rolled-back test leaves no signal behind
    to make this process forget the stamp it read of that test's catalog."""
    from pricing.catalog import catalog_stamp_forget

    catalog_stamp_forget()
    yield


@pytest.fixture(autouse=True)
def _seat_pushes_only_when_asked(settings) -> Iterator[None]:
    """Seat counts reach Stripe through the seat sync, unless a test turns prompt pushes on
    (`PORTAL_SEAT_SYNC_DELAY_SECONDS`); whatever it scheduled has run before the next test, so
    no timer pushes into another test's database."""
    from accounts.billing.seat_scheduling import seat_pushes_wait

    settings.PORTAL_SEAT_SYNC_DELAY_SECONDS = 0
    yield
    assert seat_pushes_wait(timeout=30), "a seat push scheduled by this test did not finish"
