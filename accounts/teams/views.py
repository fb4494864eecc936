"""Team pages: the list and switcher, a team's members, invitations and plan, accepting an
invitation. Every team page checks membership (a non-member gets 404) and, for changes, the
admin role (403)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.app_settings import app_settings
from accounts.auth.decorators import reauthentication_required
from accounts.billing.seat_scheduling import holder_seats_sync_soon, seat_sync_when
from accounts.billing.state import billing_state
from accounts.models import Membership
from accounts.selectors import subscription_summary
from accounts.teams.forms import InvitationForm, RoleForm, TeamCreateForm, TeamSwitchForm
from accounts.teams.selectors import (
    invitation_for_token,
    invitations_pending,
    membership_for_slug,
    team_members,
    team_seats,
)
from accounts.teams.services import (
    InvitationInvalidError,
    InvitationWrongUserError,
    SeatLimitReachedError,
    TeamError,
    team_create,
    team_invitation_accept,
    team_invitation_cancel,
    team_invitation_create,
    team_member_remove,
    team_member_role_change,
)
from portal.http import redirect_after_post, safe_next_url

TeamView = Callable[..., HttpResponse]


def _team_switch(request: HttpRequest, membership: Membership) -> None:
    """Act for this team from now on (and in the rest of this request)."""
    request.teams.switch(membership)  # type: ignore[attr-defined]


def team_member_required(*, admin: bool = False) -> Callable[[TeamView], TeamView]:
    """Resolve the URL's `slug` to the user's membership (passed as `membership`): 404 for a
    non-member (the team's existence is not revealed), 403 for a member when `admin`."""

    def decorator(view: TeamView) -> TeamView:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            membership = membership_for_slug(slug=slug, user=request.user)  # type: ignore[arg-type]
            if membership is None:
                raise Http404("No such team.")
            if admin and not membership.is_admin:
                return render(
                    request,
                    "accounts/teams/forbidden.html",
                    {"team": membership.team},
                    status=403,
                )
            return view(request, *args, membership=membership, **kwargs)

        return wrapped

    return decorator


def _to_team(membership: Membership) -> HttpResponse:
    response = redirect("accounts:team_detail", slug=membership.team.slug)
    response.status_code = 303
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def team_list(request: HttpRequest) -> HttpResponse:
    """Your teams, and a form to create one (you become its admin)."""
    form = TeamCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_create(name=form.cleaned_data["name"], creator=request.user)  # type: ignore[arg-type]
        except TeamError as error:
            form.add_error("name", str(error))
        else:
            membership = team.memberships.get(user=request.user)
            _team_switch(request, membership)
            messages.success(request, f"Team {team.name} created.")
            # Sent here to create a team first (to subscribe, say): go on there.
            next_url = safe_next_url(request, "")
            if next_url:
                return redirect_after_post(request, next_url)
            return _to_team(membership)
    return render(
        request,
        "accounts/teams/team_list.html",
        {
            "form": form,
            "team_memberships": request.teams.memberships,  # type: ignore[attr-defined]
            "next": safe_next_url(request, ""),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_safe
def team_current(request: HttpRequest) -> HttpResponse:
    """The navigation's Team link: the page of the team the user acts for, else the list."""
    team = request.teams.team  # type: ignore[attr-defined]
    if team is None:
        return redirect("accounts:team_list")
    return redirect("accounts:team_detail", slug=team.slug)


@login_required
@require_safe
def team_menu(request: HttpRequest) -> HttpResponse:
    """The account menu's team switcher, which the menu loads when it opens (the page itself
    reads no team); switching brings the user back to the page the menu is on. Opened
    without htmx, it is the list of teams."""
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("accounts:team_list")
    here = request.htmx.current_url_abs_path  # type: ignore[attr-defined]
    return render(
        request,
        "accounts/teams/_team_switcher.html",
        {
            "team_memberships": request.teams.memberships,  # type: ignore[attr-defined]
            "next_path": here or reverse("accounts:team_list"),
        },
    )


@require_POST
@login_required
def team_switch(request: HttpRequest) -> HttpResponse:
    """The team switcher: act for the posted team (one of yours) from now on."""
    form = TeamSwitchForm(request.POST)
    membership = (
        membership_for_slug(slug=form.cleaned_data["team"], user=request.user)  # type: ignore[arg-type]
        if form.is_valid()
        else None
    )
    if membership is None:
        raise Http404("No such team.")
    _team_switch(request, membership)
    messages.success(request, f"You are now working in {membership.team.name}.")
    response = redirect(
        safe_next_url(request, reverse("accounts:team_detail", args=[membership.team.slug]))
    )
    response.status_code = 303
    return response


def _team_page(
    request: HttpRequest,
    membership: Membership,
    *,
    invite_form: InvitationForm | None = None,
    seat_limit: SeatLimitReachedError | None = None,
    status: int = 200,
) -> HttpResponse:
    team = membership.team
    state = billing_state(holder=team)
    seats = team_seats(team=team, state=state)
    team_billing = app_settings.SUBSCRIPTION_HOLDER == "team"
    if team_billing and seats.pending:
        # A push that failed (Stripe was down) is tried again, so "within a minute" holds.
        holder_seats_sync_soon(holder=team)
    is_admin = membership.is_admin
    context = {
        "team": team,
        "membership": membership,
        "is_admin": is_admin,
        "members": team_members(team=team),
        "invitations": invitations_pending(team=team) if is_admin else [],
        "invite_form": invite_form or InvitationForm(),
        "roles": Membership.Role.choices,
        "seats": seats,
        "seat_limit": seat_limit,
        "team_billing": team_billing,
        "seat_sync_when": seat_sync_when(),
        "summary": subscription_summary(state=state),
    }
    return render(request, "accounts/teams/team_detail.html", context, status=status)


@team_member_required()
@require_safe
def team_detail(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    """A team's members, plan and seats; admins also get invitations and member actions.

    Opening a team's page makes it the team you act for.
    """
    _team_switch(request, membership)
    return _team_page(request, membership)


@team_member_required(admin=True)
@require_POST
def team_invite(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    """Invite someone by email; over the plan's seat cap, an upgrade prompt instead."""
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _team_page(request, membership, invite_form=form, status=400)
    try:
        invitation = team_invitation_create(
            team=membership.team,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=request.user,  # type: ignore[arg-type]
        )
    except SeatLimitReachedError as error:
        return _team_page(request, membership, invite_form=form, seat_limit=error, status=409)
    except TeamError as error:
        form.add_error("email", str(error))
        return _team_page(request, membership, invite_form=form, status=400)
    messages.success(request, f"Invitation sent to {invitation.email}.")
    return _to_team(membership)


@team_member_required(admin=True)
@require_POST
def team_invitation_cancel_view(
    request: HttpRequest, *, membership: Membership, pk: int
) -> HttpResponse:
    invitation = membership.team.invitations.filter(pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    team_invitation_cancel(invitation=invitation)
    messages.success(request, f"Invitation to {invitation.email} canceled.")
    return _to_team(membership)


@team_member_required(admin=True)
@require_POST
def team_member_remove_view(
    request: HttpRequest, *, membership: Membership, pk: int
) -> HttpResponse:
    target = membership.team.memberships.select_related("user", "team").filter(pk=pk).first()
    if target is None:
        raise Http404("No such member.")
    try:
        team_member_remove(membership=target)
    except TeamError as error:
        messages.error(request, str(error))
        return _to_team(membership)
    holder_seats_sync_soon(holder=target.team)
    messages.success(request, f"{target.user.email} was removed from {membership.team.name}.")
    if target.user_id == request.user.pk:
        return redirect("accounts:team_list")
    return _to_team(membership)


@team_member_required(admin=True)
@require_POST
@reauthentication_required
def team_member_role_view(request: HttpRequest, *, membership: Membership, pk: int) -> HttpResponse:
    target = membership.team.memberships.select_related("user", "team").filter(pk=pk).first()
    if target is None:
        raise Http404("No such member.")
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: admin or member.")
        return _to_team(membership)
    try:
        team_member_role_change(membership=target, role=form.cleaned_data["role"])
    except TeamError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{target.user.email} is now a team {form.cleaned_data['role']}.")
    return _to_team(membership)


@require_http_methods(["GET", "HEAD", "POST"])
def team_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation's link: log in (or sign up) as the invited address, then accept."""
    invitation = invitation_for_token(token=token)
    if invitation is None:
        raise Http404("No such invitation.")
    context: dict[str, Any] = {"invitation": invitation, "team": invitation.team}
    here = request.get_full_path()
    if not invitation.is_pending:
        context["error"] = (
            "This invitation has already been used, was canceled, or has expired. "
            "Ask a team admin for a new one."
        )
        return render(request, "accounts/teams/invitation.html", context, status=410)
    if not request.user.is_authenticated:
        context["login_url"] = f"{reverse('account_login')}?{urlencode({'next': here})}"
        context["signup_url"] = f"{reverse('account_signup')}?{urlencode({'next': here})}"
        return render(request, "accounts/teams/invitation.html", context)
    if request.user.email.lower() != invitation.email.lower():
        context["error"] = (
            f"This invitation was sent to {invitation.email}, and you are logged in as "
            f"{request.user.email}. Log out, then log in or sign up with {invitation.email}."
        )
        return render(request, "accounts/teams/invitation.html", context, status=403)
    if request.method != "POST":
        return render(request, "accounts/teams/invitation.html", context)
    try:
        membership = team_invitation_accept(invitation=invitation, user=request.user)  # type: ignore[arg-type]
    except InvitationWrongUserError as error:
        context["error"] = str(error)
        return render(request, "accounts/teams/invitation.html", context, status=403)
    except InvitationInvalidError as error:
        context["error"] = str(error)
        return render(request, "accounts/teams/invitation.html", context, status=410)
    except SeatLimitReachedError:
        context["error"] = (
            f"{invitation.team.name} has no seat left on its plan. Ask a team admin to upgrade, "
            "then open this link again."
        )
        return render(request, "accounts/teams/invitation.html", context, status=409)
    holder_seats_sync_soon(holder=membership.team)
    _team_switch(request, membership)
    messages.success(request, f"Welcome to {membership.team.name}!")
    return _to_team(membership)
