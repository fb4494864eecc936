"""Template context for team links and billing buttons: costs no query of its own."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.teams.selectors import billing_manageable


def teams(request: HttpRequest) -> dict[str, object]:
    """`current_team` (the team the user acts for, read only if a page shows it) and
    `can_manage_billing` (whether the user may use checkout and Manage billing)."""
    acting = getattr(request, "teams", None)
    return {
        "current_team": SimpleLazyObject(lambda: acting.team if acting is not None else None),
        "can_manage_billing": SimpleLazyObject(lambda: billing_manageable(request=request)),
    }
