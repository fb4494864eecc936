"""allauth's URLs under `accounts/`, with Portal's sign-up and login pages in front of allauth's
own (the same URL names, `account_signup` and `account_login`, so every link and redirect
reaches Portal's)."""

from __future__ import annotations

from allauth import urls as allauth_urls
from django.urls import URLPattern, URLResolver, path

from accounts.auth import views

# Google's One Tap endpoint takes a token posted without a CSRF token; Portal offers Google's
# redirect flow only, so every POST it answers is CSRF-checked.
_LEFT_OUT = {"google_login_by_token"}


def _offered(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    return [entry for entry in patterns if getattr(entry, "name", None) not in _LEFT_OUT]


urlpatterns = [
    path("signup/", views.signup, name="account_signup"),
    path("login/", views.login, name="account_login"),
    *_offered(allauth_urls.urlpatterns),
]
