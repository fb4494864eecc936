from __future__ import annotations

from django import forms

from accounts.models import Membership


class TeamCreateForm(forms.Form):
    name = forms.CharField(label="Team name", max_length=100, strip=True)


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(
        label="Role", choices=Membership.Role.choices, initial=Membership.Role.MEMBER
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class TeamSwitchForm(forms.Form):
    team = forms.SlugField(max_length=60)
