"""Every user has a primary email address: existing users got theirs, verified, from a data
migration; users created in code and by the admin get theirs verified too."""

from __future__ import annotations

import importlib

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

migration = importlib.import_module("accounts.migrations.0005_email_addresses_verified")


def test_the_data_migration_gives_every_existing_user_a_verified_primary_address():
    # Users as they were before allauth: no address rows (saved directly, not via create_user).
    plain = User(email="Plain@Example.com")
    plain.save()
    half = User(email="half@example.com")
    half.save()
    EmailAddress.objects.create(user=half, email="half@example.com", verified=False, primary=False)
    EmailAddress.objects.create(user=half, email="old@example.com", verified=True, primary=True)

    migration.email_addresses_verified(apps, None)
    migration.email_addresses_verified(apps, None)  # running it again changes nothing

    address = EmailAddress.objects.get(user=plain)
    assert (address.email, address.verified, address.primary) == ("plain@example.com", True, True)
    primary = EmailAddress.objects.get(user=half, primary=True)
    assert (primary.email, primary.verified) == ("half@example.com", True)
    assert EmailAddress.objects.filter(user=half).count() == 2


def test_a_migrated_user_logs_in_and_passes_the_email_gate(client, password):
    user = User(email="legacy@example.com")
    user.set_password(password)
    user.save()
    migration.email_addresses_verified(apps, None)

    client.post("/accounts/login/", {"login": "legacy@example.com", "password": password})

    page = client.get(reverse("accounts:email_verify"))
    assert page.status_code == 302  # nothing to verify: straight on


def test_a_user_the_admin_adds_is_verified(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "added@example.com",
            "password1": "pw-long-enough-9",
            "password2": "pw-long-enough-9",
        },
    )

    assert response.status_code == 302
    assert EmailAddress.objects.get(email="added@example.com").verified
