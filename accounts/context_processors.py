"""Template context every page gets from the accounts app."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

# How long before a trial without a card ends every page says so (Stripe's own reminder,
# `customer.subscription.trial_will_end`, comes as long before).
TRIAL_ENDING_NOTICE = timedelta(days=3)


def billing(request: HttpRequest) -> dict[str, object]:
    """Lazy flags for base.html's banners (pages that don't render them read nothing):

    - `billing_past_due`: the acting holder's subscription needs its payment fixed;
    - `billing_trial_ending`: its free trial ends within three days with no card on file
      (the trial's end, or None).
    """
    state = getattr(request, "billing", None)

    def trial_ending() -> object:
        if state is None or not state.is_trialing or state.has_card or state.trial_end is None:
            return None
        return state.trial_end if state.trial_end - timezone.now() <= TRIAL_ENDING_NOTICE else None

    return {
        "billing_past_due": SimpleLazyObject(
            lambda: state is not None and state.status == "past_due"
        ),
        "billing_trial_ending": SimpleLazyObject(trial_ending),
    }
