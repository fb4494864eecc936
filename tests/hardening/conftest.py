"""Fixtures of the hardening tests: fast password hashing, users, and the URLconf's routes."""

from __future__ import annotations

import pytest

from tests.accounts.webhooks.webhook_helpers import SECRET, WebhookPoster


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """These tests make many users; hashing their passwords slowly proves nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def webhook_secret(settings) -> str:
    settings.DJSTRIPE_WEBHOOK_SECRET = SECRET
    return SECRET


@pytest.fixture
def poster(client, webhook_secret: str) -> WebhookPoster:
    return WebhookPoster(client=client, secret=webhook_secret)
