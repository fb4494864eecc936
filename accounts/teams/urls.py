"""Team URLs, included in the `accounts` namespace (`accounts:team_detail`, ...)."""

from __future__ import annotations

from django.urls import path

from accounts.teams import views

urlpatterns = [
    path("teams/", views.team_list, name="team_list"),
    path("teams/switch/", views.team_switch, name="team_switch"),
    path("teams/current/", views.team_current, name="team_current"),
    path("teams/menu/", views.team_menu, name="team_menu"),
    path("teams/invitations/<str:token>/", views.team_invitation, name="team_invitation"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("teams/<slug:slug>/invitations/", views.team_invite, name="team_invite"),
    path(
        "teams/<slug:slug>/invitations/<int:pk>/cancel/",
        views.team_invitation_cancel_view,
        name="team_invitation_cancel",
    ),
    path(
        "teams/<slug:slug>/members/<int:pk>/remove/",
        views.team_member_remove_view,
        name="team_member_remove",
    ),
    path(
        "teams/<slug:slug>/members/<int:pk>/role/",
        views.team_member_role_view,
        name="team_member_role",
    ),
]
