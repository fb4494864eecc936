"""`/v1/account`: the one platform account every key belongs to."""

from __future__ import annotations

from typing import Any

from stripe_server.context import Context
from stripe_server.routing import route
from stripe_server.wire import list_object

# Stable across `--fresh` restarts: dj-stripe remembers the account id per API key and sends it
# back as `Stripe-Account`, so it must not change when the data directory is wiped.
ACCOUNT_ID = "acct_1PortalLocalStripe0"
ACCOUNT_CREATED = 1_700_000_000
# The currency of amounts that name none, such as a balance set on a customer without one.
DEFAULT_CURRENCY = "usd"


def account_object() -> dict[str, Any]:
    return {
        "business_profile": {
            "annual_revenue": None,
            "estimated_worker_count": None,
            "mcc": None,
            "name": "Portal (local Stripe)",
            "product_description": None,
            "support_address": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
        },
        "business_type": None,
        "capabilities": {"card_payments": "active", "transfers": "active"},
        "charges_enabled": True,
        "controller": {"type": "account"},
        "country": "US",
        "created": ACCOUNT_CREATED,
        "default_currency": DEFAULT_CURRENCY,
        "details_submitted": True,
        "email": "billing@localhost",
        "external_accounts": list_object(f"/v1/accounts/{ACCOUNT_ID}/external_accounts", []),
        "future_requirements": {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": [],
            "disabled_reason": None,
            "errors": [],
            "eventually_due": [],
            "past_due": [],
            "pending_verification": [],
        },
        "id": ACCOUNT_ID,
        "metadata": {},
        "object": "account",
        "payouts_enabled": True,
        "requirements": {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": [],
            "disabled_reason": None,
            "errors": [],
            "eventually_due": [],
            "past_due": [],
            "pending_verification": [],
        },
        "settings": {
            "branding": {
                "icon": None,
                "logo": None,
                "primary_color": None,
                "secondary_color": None,
            },
            "card_payments": {
                "decline_on": {"avs_failure": False, "cvc_failure": False},
                "statement_descriptor_prefix": None,
            },
            "dashboard": {"display_name": "Portal", "timezone": "Etc/UTC"},
            "payments": {
                "statement_descriptor": "PORTAL",
                "statement_descriptor_kana": None,
                "statement_descriptor_kanji": None,
            },
            "payouts": {
                "debit_negative_balances": True,
                "schedule": {"delay_days": 2, "interval": "daily"},
                "statement_descriptor": None,
            },
        },
        "tos_acceptance": {"date": ACCOUNT_CREATED, "ip": None, "user_agent": None},
        "type": "standard",
    }


@route("GET", "/v1/account")
def account_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(account_object())


@route("GET", "/v1/accounts/{id}")
def account_retrieve_by_id(ctx: Context) -> dict[str, Any]:
    if ctx.arg("id") != ACCOUNT_ID:
        ctx.require("account", ctx.arg("id"))
    return ctx.present(account_object())


@route("GET", "/v1/accounts")
def connected_accounts_list(ctx: Context) -> dict[str, Any]:
    # Connect is not emulated: the platform has no connected accounts.
    return list_object("/v1/accounts", [])
