"""Signal receivers of the accounts' login side, connected in `AccountsConfig.ready`."""

from __future__ import annotations

import time
from typing import Any

from allauth.account.signals import authentication_step_completed
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.auth.decorators import SESSION_AUTHENTICATED_AT_KEY


@receiver(user_logged_in, dispatch_uid="portal_login_time_stamp")
def login_time_stamp(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """A login (of any kind) starts the time in which sensitive changes need no password."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_AUTHENTICATED_AT_KEY] = time.time()


@receiver(authentication_step_completed, dispatch_uid="portal_reauthentication_time_stamp")
def reauthentication_time_stamp(
    sender: Any, request: HttpRequest | None = None, reauthenticated: bool = False, **kwargs: Any
) -> None:
    """Confirming the password (or a second factor) again restarts it."""
    if reauthenticated and request is not None and hasattr(request, "session"):
        request.session[SESSION_AUTHENTICATED_AT_KEY] = time.time()
