"""Request state, set once per request the django-htmx way (as `request.htmx` is):

- `request.team` (with `request.team_memberships`, `request.team_membership`): the team the
  user acts for, which the team switcher chooses;
- `request.holder`: the subscription holder acting in this request (the user, or in team mode
  their team; None for anonymous visitors);
- `request.billing`: the holder's `BillingState`, read lazily on first use.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from accounts.app_settings import app_settings
from accounts.billing.state import billing_state
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


def request_holder_set(request: HttpRequest) -> None:
    """Set `request.holder` and a lazy `request.billing` from the user and `request.team`;
    call it again after changing either (the team switcher does)."""
    holder = None
    if request.user.is_authenticated:
        if app_settings.SUBSCRIPTION_HOLDER == "user":
            holder = request.user
        else:
            holder = getattr(request, "team", None)
    request.holder = holder  # type: ignore[attr-defined]
    request.billing = SimpleLazyObject(lambda: billing_state(holder=holder))  # type: ignore[attr-defined]


class TeamMiddleware:
    """Sets `request.team`, `request.holder` and `request.billing` (see above); place it after
    AuthenticationMiddleware.

    With `PORTAL_SUBSCRIPTION_HOLDER = "team"`, that team is the subscription holder.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_team_set(request)
        request_holder_set(request)
        return self.get_response(request)
