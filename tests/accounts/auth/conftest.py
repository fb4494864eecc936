"""Fixtures of the account tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:
    """Logins are made by the dozen here; hashing their passwords slowly proves nothing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
