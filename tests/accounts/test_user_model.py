from __future__ import annotations

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_users_are_identified_by_normalized_email():
    user = User.objects.create_user(email="Ada@EXAMPLE.com", password="x-long-passphrase")

    assert user.email == "Ada@example.com"
    assert str(user) == "Ada@example.com"
    assert user.check_password("x-long-passphrase")


def test_create_user_requires_an_email():
    with pytest.raises(ValueError, match="email address is required"):
        User.objects.create_user(email="", password="x")


def test_create_superuser_sets_the_flags():
    admin = User.objects.create_superuser(email="root@example.com", password="x-long-passphrase")

    assert admin.is_staff
    assert admin.is_superuser
