"""HEAD on every route, enumerated from the URLconf: uptime monitors and link checkers send
HEAD, and every page that answers GET must answer HEAD with the same status."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Invitation, User
from accounts.teams.services import team_create, team_invitation_create
from tests.hardening.routes import all_routes

pytestmark = pytest.mark.django_db

# dj-stripe's admin action confirmations are reached by a POST from a changelist; a bare GET
# of one fails inside dj-stripe 2.11 whatever the method, so they are no pages to check here.
ROUTES = [route for route in all_routes() if route.name != "admin:djstripe_custom_action"]
# Django's admin login sends a logged-in staff member's GET on to the index, and shows the form
# to every other method: HEAD answers 200 there, which is fine.
GET_ONLY_REDIRECTS = {("staff", "admin:login")}


@pytest.fixture
def clients(django_user_model, mailoutbox) -> tuple[dict[str, Client], dict[str, str]]:
    """A visitor, a team admin and a superuser, and the path values their pages need (the
    admin's team, a pending invitation of it)."""
    member = django_user_model.objects.create_user(email="head@example.com", password="pw-12345")
    team = team_create(name="Head Office", creator=member)
    invitation = team_invitation_create(team=team, email="new@example.com", invited_by=member)
    staff = django_user_model.objects.create_superuser(email="root@example.com", password="pw-1")
    logged_in, superuser = Client(), Client()
    logged_in.force_login(member)
    superuser.force_login(staff)
    values = {"slug": team.slug, "token": invitation.token, "pk": "1", "uidb64": "MQ"}
    return {"visitor": Client(), "member": logged_in, "staff": superuser}, values


def test_every_route_answers_head_as_it_answers_get(clients, stripe_settings):
    by_persona, values = clients
    mismatches = []
    checked = 0
    for route in ROUTES:
        path = route.path(**values)
        for persona, client in by_persona.items():
            if route.is_admin and persona == "member":
                continue  # the admin sends everyone but staff to its login, as for visitors
            get = client.get(path)
            head = client.head(path)
            checked += get.status_code != 405
            if (persona, route.name) in GET_ONLY_REDIRECTS:
                assert head.status_code == 200, path
            elif head.status_code != get.status_code:
                statuses = f"GET {get.status_code}, HEAD {head.status_code}"
                mismatches.append(f"{persona} {path}: {statuses}")
    assert not mismatches, "\n".join(mismatches)
    # Most routes are pages: a URLconf enumeration that found nothing would prove nothing.
    assert checked > 100


@pytest.mark.parametrize("path", ["/", "/pricing/", "/pricing/?interval=year&seats=3"])
def test_a_head_request_for_a_public_page_is_200_without_a_body(client, path, stripe_settings):
    response = client.head(path)

    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Type"].startswith("text/html")


def test_a_head_request_never_acts_like_the_post_it_shares_a_view_with(clients, stripe_settings):
    """The invitation's view accepts on POST and shows the invitation otherwise: HEAD must not
    accept it."""
    _, values = clients
    invitation = Invitation.objects.get(token=values["token"])
    invitee = User.objects.create_user(email=invitation.email, password="pw-12345")
    client = Client()
    client.force_login(invitee)

    response = client.head(f"/teams/invitations/{invitation.token}/")

    assert response.status_code == 200
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert not invitee.teams.exists()
