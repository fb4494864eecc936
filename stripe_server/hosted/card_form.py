"""Reading a card typed into a hosted page: Stripe's test numbers, expiry and CVC."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from stripe_server.cards import TestCard, card_for_number, decline_message
from stripe_server.context import Context
from stripe_server.resources.payment_methods import payment_method_attach, payment_method_new
from stripe_server.wire import StripeError


@dataclass(frozen=True)
class CardEntry:
    card: TestCard
    exp_month: int
    exp_year: int


class CardFormError(Exception):
    """What is wrong with the typed card, in words for the person paying."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# The fields of the card form every hosted page shows (`hosted/templates/`, `page.py`).
CARD_FIELDS = ("card_number", "card_expiry", "card_cvc", "card_name")


def card_entry_from_form(values: dict[str, str], *, now: int) -> CardEntry:
    """The card in a submitted card form (`CARD_FIELDS`), or `CardFormError`."""
    return card_entry_parse(
        number=values["card_number"], expiry=values["card_expiry"], cvc=values["card_cvc"], now=now
    )


def card_entry_parse(*, number: str, expiry: str, cvc: str, now: int) -> CardEntry:
    """The test card typed in, or `CardFormError`; declines are checked later, when used."""
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits:
        raise CardFormError("Enter your card number.", field="card_number")
    try:
        card = card_for_number(digits)
    except StripeError as error:
        raise CardFormError(error.message, field="card_number") from None
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", expiry or "")
    if match is None:
        raise CardFormError("Enter the expiry date as MM / YY.", field="card_expiry")
    month, year = int(match.group(1)), int(match.group(2))
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        raise CardFormError("Your card's expiration month is invalid.", field="card_expiry")
    today = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    if (year, month) < (today.year, today.month):
        raise CardFormError("Your card's expiration date is in the past.", field="card_expiry")
    if year > today.year + 50:
        raise CardFormError("Your card's expiration year is invalid.", field="card_expiry")
    expected = 4 if card.brand == "amex" else 3
    if not re.fullmatch(rf"\d{{{expected}}}", (cvc or "").strip()):
        raise CardFormError(
            f"Your card's security code should be {expected} digits.", field="card_cvc"
        )
    return CardEntry(card=card, exp_month=month, exp_year=year)


def attach_refusal(entry: CardEntry) -> str | None:
    """The decline message Stripe shows when this card is saved, if it would be refused."""
    return decline_message(entry.card.attach_decline) if entry.card.attach_decline else None


def charge_refusal(entry: CardEntry) -> str | None:
    """The decline message for charging this card now, if a charge would be refused."""
    return decline_message(entry.card.charge_decline) if entry.card.charge_decline else None


def card_entry_save(
    ctx: Context,
    entry: CardEntry,
    *,
    customer: dict[str, Any],
    name: str,
    email: str | None = None,
) -> dict[str, Any]:
    """Save the typed card as a payment method attached to `customer` (as Stripe's hosted
    pages do), named as typed or after the customer."""
    payment_method = payment_method_new(
        ctx,
        entry.card,
        exp_month=entry.exp_month,
        exp_year=entry.exp_year,
        billing_details={
            "address": None,
            "email": email or customer["email"],
            "name": name or customer["name"],
            "phone": None,
            "tax_id": None,
        },
    )
    payment_method_attach(ctx, payment_method, customer)
    return payment_method
