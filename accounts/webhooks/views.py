"""The Stripe webhook endpoint: verify, store, acknowledge. Processing happens after, in a task
(`accounts.webhooks.scheduling` says which, and when)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from djstripe.views import ProcessWebhookView

from accounts.webhooks.app_settings import webhook_settings
from accounts.webhooks.models import WebhookEvent
from accounts.webhooks.scheduling import webhook_event_received
from accounts.webhooks.services.receiving import (
    MalformedEventError,
    webhook_body_json,
    webhook_event_parse,
    webhook_event_store,
)
from accounts.webhooks.signature import SignatureError, signature_verify

logger = logging.getLogger(__name__)


class AcknowledgementResponse(JsonResponse):
    """Stripe's 200, which runs `after_sent` once the server has sent it.

    The server closes a response once it has written it to the client, and Django's `close()`
    then ends the request (`request_finished` closes the database connection when it is due):
    work run just before that never delays the acknowledgement, and still has the request's
    connection.
    """

    def __init__(self, data: dict[str, object], *, after_sent: Callable[[], None] | None) -> None:
        super().__init__(data)
        self.after_sent = after_sent

    def close(self) -> None:
        # Taken before it runs, so that a second `close()` does not run it again.
        after_sent, self.after_sent = self.after_sent, None
        try:
            if after_sent is not None:
                after_sent()
        finally:
            super().close()


def _refuse(reason: str, *, status: int = 400) -> JsonResponse:
    logger.warning("Refused a Stripe webhook: %s", reason)
    return JsonResponse({"error": reason}, status=status)


def _body_read(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (checked before reading it all)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Receive one Stripe event: 400 (and nothing stored) unless signed and well-formed;
    otherwise store it durably, answer 200, and process it after (or in a worker)."""
    secret = webhook_settings.SECRET
    if not secret:
        return _refuse(
            "This endpoint has no signing secret: set DJSTRIPE_WEBHOOK_SECRET.", status=503
        )
    limit = webhook_settings.MAX_BODY_BYTES
    body = _body_read(request, limit)
    if body is None:
        return _refuse(f"The body is larger than {limit} bytes.")
    try:
        signature_verify(
            payload=body,
            header=request.headers.get("Stripe-Signature"),
            secret=secret,
            tolerance=webhook_settings.TOLERANCE,
        )
        payload = webhook_event_parse(body=body)
    except (SignatureError, MalformedEventError) as error:
        return _refuse(str(error))
    event, created = webhook_event_store(payload=payload)
    after_sent = None
    if created or event.status == WebhookEvent.Status.RECEIVED:
        after_sent = webhook_event_received(event=event)
    return AcknowledgementResponse(
        {"received": True, "id": event.stripe_id, "duplicate": not created}, after_sent=after_sent
    )


_djstripe_webhook = ProcessWebhookView.as_view()


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def djstripe_webhook(request: HttpRequest, uuid: UUID) -> HttpResponse:
    """dj-stripe's own endpoint (`/stripe/webhook/<uuid>/`, for projects that configure one),
    behind the body check of Portal's: a body that is not JSON, or nests deeper than any
    Stripe event, gets a 400 that says why before dj-stripe reads it (it would answer 500)."""
    try:
        webhook_body_json(body=request.body)
    except MalformedEventError as error:
        return _refuse(str(error))
    return _djstripe_webhook(request, uuid=uuid)
