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
def stripe_settings(local_stripe: LocalStripe, settings) -> Iterator[LocalStripe]:
    """Point Portal (its services, and dj-stripe's module-level SDK) at the local Stripe server.

    The server's state lives for the whole session: tests create what they need and must not
    assume an empty Stripe.
    """
    settings.STRIPE_API_BASE = local_stripe.api_base
    settings.STRIPE_API_HOST = local_stripe.api_base
    settings.STRIPE_TEST_SECRET_KEY = local_stripe.api_key
    settings.STRIPE_LIVE_MODE = False
    previous = stripe.api_base
    stripe.api_base = local_stripe.api_base
    yield local_stripe
    stripe.api_base = previous
