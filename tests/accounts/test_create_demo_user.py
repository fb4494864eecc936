from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_create_demo_user_is_idempotent_and_prints_the_login(capsys, settings):
    settings.DEBUG = True

    call_command("create_demo_user")
    call_command("create_demo_user")

    user = User.objects.get()
    assert user.email == "demo@example.com"
    assert user.check_password("portal-demo")
    assert "demo@example.com / portal-demo" in capsys.readouterr().out
    # Its team, for `make run`'s teams holding the subscriptions: made once.
    membership = user.memberships.get()
    assert (membership.team.name, membership.role) == ("Demo team", "admin")


def test_create_demo_user_is_refused_without_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("create_demo_user")
    assert not User.objects.exists()


def test_the_demo_user_logs_in_and_may_subscribe_at_once(client, settings):
    settings.DEBUG = True
    call_command("create_demo_user")

    response = client.post(
        "/accounts/login/", {"login": "demo@example.com", "password": "portal-demo"}
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get().pk)
    assert EmailAddress.objects.get(email="demo@example.com").verified
