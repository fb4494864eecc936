"""Object ids shaped like Stripe's (`prod_...`, `sub_...`), unique across restarts."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits

# Prefix -> resource name, so `expand[]` can resolve any id it meets to its kind.
PREFIXES: dict[str, str] = {
    "prod": "product",
    "price": "price",
    "cus": "customer",
    "cbtxn": "customer_balance_transaction",
    "pm": "payment_method",
    "sub": "subscription",
    "sub_sched": "subscription_schedule",
    "si": "subscription_item",
    "in": "invoice",
    "ii": "invoiceitem",
    "il": "line_item",
    "evt": "event",
    "promo": "promotion_code",
    "di": "discount",
    "we": "webhook_endpoint",
    "acct": "account",
    "mtr": "billing.meter",
}


def new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_secret(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(32))


def new_request_id() -> str:
    return new_id("req", 14)
