"""What a handler gets: the open transaction, the clock, the parameters and who asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stripe_server.clock import Clock
from stripe_server.expand import present
from stripe_server.store import Session
from stripe_server.versions import ACCOUNT_DEFAULT
from stripe_server.wire import Params, paginate, resource_missing

# How Stripe names each resource in "No such ..." messages.
LABELS = {
    "payment_method": "PaymentMethod",
    "subscription_item": "subscription item",
    "webhook_endpoint": "webhook endpoint",
    "invoiceitem": "invoice item",
    "customer_balance_transaction": "customer balance transaction",
    "subscription_schedule": "subscription schedule",
    "billing.meter": "billing meter",
}


@dataclass
class Context:
    """One unit of work: an API request, or a billing pass run by the server itself."""

    db: Session
    clock: Clock
    account_id: str
    params: Params = field(default_factory=lambda: Params({}))
    path_args: dict[str, str] = field(default_factory=dict)
    request_id: str | None = None
    idempotency_key: str | None = None
    # Ids of events created in this unit of work; the server wakes the webhook worker for them.
    emitted_event_ids: list[str] = field(default_factory=list)
    # Where clients reach this server (for hosted page URLs such as a Checkout session's `url`).
    base_url: str = "http://127.0.0.1:12111"
    # The API version the response is rendered in (`Stripe-Version`, else the account's).
    api_version: str = ACCOUNT_DEFAULT

    def now(self) -> int:
        return self.clock.now()

    def arg(self, name: str) -> str:
        return self.path_args[name]

    def require(
        self, kind: str, object_id: str, *, param: str = "id", status: int = 404
    ) -> dict[str, Any]:
        """The stored object, or `resource_missing` (404 for a URL id, 400 for a param)."""
        obj = self.db.get(object_id, kind)
        if obj is None:
            error = resource_missing(LABELS.get(kind, kind), object_id, param=param)
            error.status = status
            raise error
        return obj

    def present(self, obj: dict[str, Any]) -> dict[str, Any]:
        """`obj` as the API returns it, honouring this request's `expand[]`."""
        return present(self.db, obj, self.params.expand())

    def page(self, objects: list[dict[str, Any]], url: str, label: str) -> dict[str, Any]:
        """A paginated, expanded list object of `objects` (newest first)."""
        return present(
            self.db, paginate(objects, self.params, url, label=label), self.params.expand()
        )
