"""allauth's URLs under `accounts/`, with Portal's sign-up page in front of allauth's own (the
same URL name, `account_signup`, so every link and redirect reaches Portal's)."""

from __future__ import annotations

from django.urls import include, path

from accounts.auth import views

urlpatterns = [
    path("signup/", views.signup, name="account_signup"),
    path("", include("allauth.urls")),
]
