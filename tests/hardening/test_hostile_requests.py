"""Every view, enumerated from the URLconf, against hostile parameters; CSRF on every POST; no
open redirects through `next`.

A view may refuse (4xx) or ignore what it does not understand, but never answer 500."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from django.test import Client

from accounts.models import User
from accounts.teams.services import team_create
from tests.hardening.routes import Route, all_routes

pytestmark = pytest.mark.django_db

# Every query or form field a Portal view reads, and then some.
PARAMETERS = [
    "interval", "seats", "price", "session_id", "next", "from", "page", "q", "o", "p",
    "team", "token", "role", "email", "name", "username", "password", "new_password1",
    "new_password2", "old_password", "first_name", "last_name", "_changelist_filters",
    "login", "password1", "password2", "oldpassword", "code", "action_send", "process",
]  # fmt: skip

HOSTILE = {
    "long": "x" * 20_000,
    "unicode": "\u202eΩ𝔘𝔫𝔦😀\u0301\ufeff日本",
    "negative": "-1",
    "huge": "9" * 40,
    "float": "1e308",
    "sql": "' OR '1'='1'; DROP TABLE accounts_user; --",
    "nul": "cs_\x00abc",
    "html": '"><script>alert(1)</script>',
    "path": "../../../../etc/passwd",
    "empty": "",
}

ROUTES = all_routes()
PORTAL_ROUTES = [route for route in ROUTES if not route.is_admin]


def route_id(route: Route) -> str:
    return route.name or route.template


@pytest.fixture
def member(django_user_model) -> tuple[User, str]:
    """A logged-in kind of user: in a team (so team pages render), not staff."""
    user = django_user_model.objects.create_user(email="hostile@example.com", password="pw-12345")
    team = team_create(name="Hostile Testers", creator=user)
    return user, team.slug


def path_variants(route: Route, slug: str) -> list[str]:
    """The route with sensible path values, then with hostile ones where its converters let
    them through (a slug stays a slug, an int stays digits)."""
    variants = [route.path(slug=slug, token="no-such-token", uidb64="MQ", pk="1")]
    if "<" in route.template:
        variants += [
            route.path(slug=slug, pk="9" * 40, token=quote(HOSTILE["sql"], safe="")),
            route.path(slug="x" * 300, pk="0", token=quote(HOSTILE["nul"], safe="")),
            route.path(slug=slug, pk="-1", token=quote(HOSTILE["unicode"], safe="")),
            route.path(token="x" * 5000, uidb64=quote(HOSTILE["sql"], safe="")),
        ]
    return variants


def assert_no_server_error(response, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}"


@pytest.mark.parametrize("route", PORTAL_ROUTES, ids=route_id)
def test_hostile_query_parameters_never_cause_a_server_error(
    route, member, stripe_settings, webhook_secret
):
    user, slug = member
    for logged_in in (False, True):
        client = Client()
        if logged_in:
            client.force_login(user)
        for path in path_variants(route, slug):
            for label, value in HOSTILE.items():
                response = client.get(path, {name: value for name in PARAMETERS})
                assert_no_server_error(response, f"GET {path} ({label}, logged in={logged_in})")
            # Arrays: each parameter repeated, and PHP-style `name[]`.
            response = client.get(
                path,
                {
                    **{name: ["1", "2", HOSTILE["sql"]] for name in PARAMETERS},
                    **{f"{name}[]": ["1", "2"] for name in PARAMETERS},
                },
            )
            assert_no_server_error(response, f"GET {path} (arrays, logged in={logged_in})")


@pytest.mark.parametrize("route", PORTAL_ROUTES, ids=route_id)
def test_hostile_form_posts_never_cause_a_server_error(
    route, member, stripe_settings, webhook_secret
):
    user, slug = member
    for label, value in HOSTILE.items():
        client = Client()  # CSRF checks off: this is about the views' own validation
        client.force_login(user)
        path = path_variants(route, slug)[0]
        response = client.post(path, {name: value for name in PARAMETERS})
        assert_no_server_error(response, f"POST {path} ({label})")
        response = client.post(path, {name: ["1", value] for name in PARAMETERS})
        assert_no_server_error(response, f"POST {path} (array of {label})")


def test_the_admin_survives_hostile_parameters_for_anyone(member, django_user_model):
    user, _ = member
    staff = django_user_model.objects.create_superuser(email="root@example.com", password="pw-1")
    anonymous, logged_in, superuser = Client(), Client(), Client()
    logged_in.force_login(user)
    superuser.force_login(staff)
    changelists = [
        route for route in ROUTES if route.is_admin and route.name.endswith("_changelist")
    ]
    assert len(changelists) > 10
    for route in changelists:
        for label, value in HOSTILE.items():
            query = {"q": value, "o": value, "p": value, "_changelist_filters": value}
            for client in (anonymous, logged_in, superuser):
                response = client.get(route.path(), query)
                assert_no_server_error(response, f"GET {route.path()} ({label})")


def test_a_nul_character_anywhere_is_refused_with_a_400_that_says_so(member):
    user, _ = member
    client = Client()
    client.force_login(user)

    responses = [
        client.get("/subscription/checkout/", {"price": "price_\x00"}),
        client.get("/teams/invitations/abc%00def/"),
        client.post("/teams/", {"name": "Nul\x00team"}),
        client.get("/pricing/", {"seats\x00": "1"}),
    ]

    for response in responses:
        assert response.status_code == 400
        assert b"Null characters are not allowed" in response.content
    assert user.teams.count() == 1


# --- CSRF ---------------------------------------------------------------------------------------

# The only views that take POSTs without a CSRF token: Stripe's webhook endpoints, which
# authenticate each request by its signature instead.
CSRF_EXEMPT = {"stripe_webhook", "djstripe:djstripe_webhook_by_uuid"}


def test_only_the_webhook_endpoints_are_exempt_from_csrf():
    assert {route.name for route in ROUTES if route.csrf_exempt} == CSRF_EXEMPT


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_every_post_without_a_csrf_token_is_refused(member, logged_in, stripe_settings):
    user, slug = member
    client = Client(enforce_csrf_checks=True)
    if logged_in:
        client.force_login(user)
    client.get("/")  # a CSRF cookie, as a browser would have; the token is still missing
    checked = 0
    for route in ROUTES:
        if route.csrf_exempt:
            continue
        path = route.path(slug=slug, token="t", uidb64="MQ")
        response = client.post(path, {"price": "price_x", "name": "x", "role": "admin"})
        assert response.status_code == 403, f"POST {path} answered {response.status_code}"
        assert b"CSRF" in response.content
        checked += 1
    assert checked == len(ROUTES) - len(CSRF_EXEMPT)
    user.refresh_from_db()
    assert user.teams.count() == 1  # no POST did anything


def test_a_post_with_the_csrf_token_goes_through(member):
    user, _ = member
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    token = client.get("/teams/").context["csrf_token"]

    response = client.post("/teams/", {"name": "Second team", "csrfmiddlewaretoken": str(token)})

    assert response.status_code == 303
    assert user.teams.count() == 2


# --- Open redirects ----------------------------------------------------------------------------

OFFSITE = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://testserver@evil.example/",
    " https://evil.example/",
    "https://evil.example%2F@testserver/",
    "\x00//evil.example",
]


def assert_stays_here(response) -> None:
    location = response.headers.get("Location", "")
    parts = urlsplit(location)
    assert parts.scheme in ("", "http"), location
    assert parts.netloc in ("", "testserver"), location
    assert not location.startswith(("//", "/\\", "\\")), location


@pytest.mark.parametrize("target", OFFSITE)
def test_next_never_redirects_off_site(member, target, password="pw-12345"):
    user, slug = member
    # Signing up (already logged in), logging in, logging out, and the team switcher.
    client = Client()
    client.force_login(user)
    assert_stays_here(client.get("/accounts/signup/", {"next": target}))
    assert_stays_here(client.post("/teams/switch/", {"team": slug, "next": target}))
    assert_stays_here(client.post("/accounts/logout/", {"next": target}))
    response = Client().post(
        f"/accounts/login/?next={quote(target, safe='')}",
        {"login": user.email, "password": password},
    )
    assert response.status_code in (302, 400)  # 400: a NUL character is refused outright
    assert_stays_here(response)
    response = Client().post(
        "/accounts/signup/",
        {
            "email": f"new{abs(hash(target))}@example.com",
            "password1": "a-long-enough-passphrase-1",
            "password2": "a-long-enough-passphrase-1",
            "next": target,
        },
    )
    assert_stays_here(response)


def test_a_local_next_is_still_followed(member, password="pw-12345"):
    user, _ = member
    response = Client().post(
        "/accounts/login/?next=/pricing/%3Finterval%3Dyear",
        {"login": user.email, "password": password},
    )

    assert response["Location"] == "/pricing/?interval=year"
