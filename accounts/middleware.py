"""Request state, set once per request the django-htmx way (as `request.htmx` is):

- `request.teams`: the user's teams and the one they act for (`request.teams.team`, which the
  team switcher chooses), read on first use;
- `request.holder`: the subscription holder acting in this request (the user, or in team mode
  their team; None for anonymous visitors);
- `request.billing`: the holder's `BillingState`, read lazily on first use.

A page that shows no team reads no team: a logged-in page costs the session, the user and, if
it shows billing, the billing state.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from accounts.app_settings import app_settings
from accounts.billing.state import billing_state
from accounts.models import Membership, Team
from accounts.teams.selectors import SESSION_TEAM_KEY


class ActingTeams:
    """The user's memberships and the one they act for: the team they last switched to, else
    their first team by name. One query, on first use; none for anonymous visitors."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    @cached_property
    def memberships(self) -> list[Membership]:
        """The user's memberships with their teams, by team name."""
        user = self._request.user
        if not user.is_authenticated:
            return []
        return list(
            Membership.objects.filter(user=user).select_related("team").order_by("team__name", "pk")
        )

    @cached_property
    def membership(self) -> Membership | None:
        """The membership of the team the user acts for; None when they are in no team."""
        session = getattr(self._request, "session", None)
        chosen = session.get(SESSION_TEAM_KEY) if session is not None else None
        memberships = self.memberships
        current = next((m for m in memberships if m.team_id == chosen), None)
        return current if current is not None or not memberships else memberships[0]

    @property
    def team(self) -> Team | None:
        membership = self.membership
        return membership.team if membership is not None else None

    def switch(self, membership: Membership) -> None:
        """Act for this membership's team from now on, and in the rest of this request."""
        self._request.session[SESSION_TEAM_KEY] = membership.team_id
        self.__dict__["membership"] = membership
        request_holder_set(self._request)


def request_holder_set(request: HttpRequest) -> None:
    """Set `request.holder` and a lazy `request.billing` from the user and the team they act
    for; call it again after changing either (switching teams does)."""
    holder = None
    if request.user.is_authenticated:
        by_user = app_settings.SUBSCRIPTION_HOLDER == "user"
        holder = request.user if by_user else request.teams.team  # type: ignore[attr-defined]
    request.holder = holder  # type: ignore[attr-defined]
    request.billing = SimpleLazyObject(lambda: billing_state(holder=holder))  # type: ignore[attr-defined]


class TeamMiddleware:
    """Sets `request.teams`, `request.holder` and `request.billing` (see above); place it after
    AuthenticationMiddleware.

    With `PORTAL_SUBSCRIPTION_HOLDER = "team"`, the team the user acts for is the subscription
    holder.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.teams = ActingTeams(request)  # type: ignore[attr-defined]
        request_holder_set(request)
        return self.get_response(request)
