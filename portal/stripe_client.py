"""The one way Portal's services reach Stripe (or the local Stripe server).

Services call `stripe_client()` for an SDK client configured from settings, and wrap calls in
`translate_stripe_errors()` so that views deal with two exceptions of ours, not the SDK's dozen.
dj-stripe's own syncing uses the module-level SDK, which it points at `STRIPE_API_HOST`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from djstripe.settings import djstripe_settings

logger = logging.getLogger(__name__)


class StripeUnavailableError(Exception):
    """Stripe could not be reached, or failed on its side; trying again later may work."""


class StripeRequestError(Exception):
    """Stripe refused the request (bad parameters, a declined card...); retrying won't help."""

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        # The parameter Stripe refused (`discounts[0][promotion_code]`), when it names one.
        self.param = param


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        # The SDK turns `*_decimal` strings into Decimals; on the wire they are strings.
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def stripe_json(obj: Any) -> dict[str, Any]:
    """An SDK object as the plain JSON Stripe sent (to store, or to hand on as a payload)."""
    return json.loads(json.dumps(obj.to_dict(), default=_json_default))


def stripe_api_key() -> str:
    return djstripe_settings.STRIPE_SECRET_KEY


def stripe_dashboard_links_shown() -> bool:
    """Whether Portal talks to Stripe itself (real keys, no `STRIPE_API_BASE`), so its objects
    are in Stripe's Dashboard; not with the local Stripe server or another API base."""
    base = (settings.STRIPE_API_BASE or "").rstrip("/")
    return not getattr(settings, "STRIPE_USES_LOCAL_SERVER", False) and base in (
        "",
        stripe.DEFAULT_API_BASE.rstrip("/"),
    )


def stripe_client() -> stripe.StripeClient:
    base = settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE
    return stripe.StripeClient(
        stripe_api_key(),
        base_addresses={"api": base},
        max_network_retries=2,
        http_client=stripe.RequestsClient(timeout=20),
    )


@contextmanager
def translate_stripe_errors(action: str) -> Iterator[None]:
    """Turn the SDK's errors into ours, logging each with what was being done."""
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
        logger.warning("Stripe unavailable while trying to %s: %s", action, error)
        raise StripeUnavailableError(f"Stripe could not be reached to {action}.") from error
    except stripe.AuthenticationError as error:
        logger.error("Stripe refused our API key while trying to %s: %s", action, error)
        raise StripeUnavailableError(
            f"Stripe refused the API key while trying to {action}."
        ) from error
    except stripe.StripeError as error:
        logger.warning("Stripe refused to %s: %s", action, error)
        raise StripeRequestError(
            error.user_message or str(error),
            code=getattr(error, "code", None),
            param=getattr(error, "param", None),
        ) from error
