"""Template context for the team switcher and billing buttons: costs no query of its own."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.teams.selectors import billing_manageable


def teams(request: HttpRequest) -> dict[str, object]:
    """`team_memberships` (the user's teams, for the switcher), `current_team`, and
    `can_manage_billing` (whether the user may use checkout and Manage billing)."""
    return {
        "team_memberships": getattr(request, "team_memberships", []),
        "current_team": getattr(request, "team", None),
        "can_manage_billing": SimpleLazyObject(lambda: billing_manageable(request=request)),
    }
