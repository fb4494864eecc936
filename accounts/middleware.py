"""Sets the team a request acts for (`request.team`), which the team switcher chooses."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from accounts.models import Membership
from accounts.teams.selectors import SESSION_TEAM_KEY


def request_team_set(request: HttpRequest) -> None:
    """Set `request.team_memberships` (the user's memberships, with their teams, by name),
    `request.team_membership` and `request.team`: the team the user last switched to, else
    their first team; None for anonymous visitors and users in no team. One query."""
    memberships: list[Membership] = []
    if request.user.is_authenticated:
        memberships = list(
            Membership.objects.filter(user=request.user)
            .select_related("team")
            .order_by("team__name", "pk")
        )
    chosen = request.session.get(SESSION_TEAM_KEY) if hasattr(request, "session") else None
    current = next((m for m in memberships if m.team_id == chosen), None)
    if current is None and memberships:
        current = memberships[0]
    request.team_memberships = memberships  # type: ignore[attr-defined]
    request.team_membership = current  # type: ignore[attr-defined]
    request.team = current.team if current is not None else None  # type: ignore[attr-defined]


class TeamMiddleware:
    """Sets `request.team` (see `request_team_set`); place it after AuthenticationMiddleware.

    With `PORTAL_SUBSCRIPTION_HOLDER = "team"`, that team is the subscription holder.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_team_set(request)
        return self.get_response(request)
