"""Fixtures of the team tests: team billing mode and a per-seat plan in the local Stripe."""

from __future__ import annotations

import pytest
from djstripe.models import Price

from tests.accounts.teams.team_helpers import seat_plan_offer


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """Users are made by the dozen here; hashing their passwords slowly proves nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def team_mode(settings) -> None:
    """Teams hold the subscriptions (PORTAL_SUBSCRIPTION_HOLDER = "team")."""
    settings.PORTAL_SUBSCRIPTION_HOLDER = "team"


@pytest.fixture
def seat_price(stripe_settings, monkeypatch) -> Price:
    """A $10-a-seat monthly plan, the only one pricing.metadata offers."""
    return seat_plan_offer(monkeypatch, unit_amount=1000)
