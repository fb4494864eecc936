"""Stripe's test cards and test tokens, and how each behaves when attached or charged.

Stripe documents the numbers (https://docs.stripe.com/testing): 4242... succeeds, 4000 0000
0000 0002 is declined, 4000 0000 0000 0341 attaches but its charges fail, and so on. Tokens
such as `pm_card_visa` or `tok_chargeDeclined` stand for those cards. A payment method made
from a test card carries that card's deterministic `fingerprint`, which is how a later charge
knows which behaviour applies without storing the full number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from stripe_server.wire import StripeError, card_declined


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    funding: str = "credit"
    # Decline code when attaching to a customer (Stripe checks the card then).
    attach_decline: str | None = None
    # Decline code when charging (e.g. a subscription invoice).
    charge_decline: str | None = None

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.number.encode()).hexdigest()[:16]

    @property
    def last4(self) -> str:
        return self.number[-4:]


_DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
}

_CARDS = [
    TestCard("4242424242424242", "visa"),
    TestCard("4000056655665556", "visa", funding="debit"),
    TestCard("5555555555554444", "mastercard"),
    TestCard("2223003122003222", "mastercard"),
    TestCard("5200828282828210", "mastercard", funding="debit"),
    TestCard("378282246310005", "amex"),
    TestCard("6011111111111117", "discover"),
    TestCard("4000000000000002", "visa", attach_decline="generic_decline",
             charge_decline="generic_decline"),
    TestCard("4000000000009995", "visa", attach_decline="insufficient_funds",
             charge_decline="insufficient_funds"),
    TestCard("4000000000009987", "visa", attach_decline="lost_card", charge_decline="lost_card"),
    TestCard("4000000000009979", "visa", attach_decline="stolen_card",
             charge_decline="stolen_card"),
    TestCard("4000000000000069", "visa", attach_decline="expired_card",
             charge_decline="expired_card"),
    TestCard("4000000000000127", "visa", attach_decline="incorrect_cvc",
             charge_decline="incorrect_cvc"),
    TestCard("4000000000000119", "visa", attach_decline="processing_error",
             charge_decline="processing_error"),
    TestCard("4000000000000341", "visa", charge_decline="generic_decline"),
]  # fmt: skip

CARDS_BY_NUMBER = {card.number: card for card in _CARDS}
CARDS_BY_FINGERPRINT = {card.fingerprint: card for card in _CARDS}

# `pm_card_*` payment method tokens and `tok_*` card tokens, each naming a test card.
TOKENS = {
    "visa": "4242424242424242",
    "visa_debit": "4000056655665556",
    "mastercard": "5555555555554444",
    "mastercard_debit": "5200828282828210",
    "amex": "378282246310005",
    "discover": "6011111111111117",
    "chargeDeclined": "4000000000000002",
    "chargeDeclinedInsufficientFunds": "4000000000009995",
    "chargeDeclinedLostCard": "4000000000009987",
    "chargeDeclinedStolenCard": "4000000000009979",
    "chargeDeclinedExpiredCard": "4000000000000069",
    "chargeDeclinedIncorrectCvc": "4000000000000127",
    "chargeDeclinedProcessingError": "4000000000000119",
    "chargeCustomerFail": "4000000000000341",
}


def card_for_token(token: str) -> TestCard | None:
    """The test card a `pm_card_visa` / `tok_visa` style token names, if it is one."""
    for prefix in ("pm_card_", "tok_"):
        if token.startswith(prefix):
            number = TOKENS.get(token[len(prefix) :])
            return CARDS_BY_NUMBER[number] if number else None
    return None


def _luhn_valid(number: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_for_number(number: str) -> TestCard:
    """The test card with this number, or the card error Stripe gives in test mode."""
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not _luhn_valid(digits):
        raise StripeError(
            "Your card number is incorrect.",
            status=402,
            error_type="card_error",
            code="incorrect_number",
            param="card[number]",
        )
    card = CARDS_BY_NUMBER.get(digits)
    if card is None:
        raise card_declined(
            "Your card was declined. Your request was in test mode, but used a non test "
            "(live) card. For a list of valid test cards, visit: "
            "https://stripe.com/docs/testing.",
            decline_code="test_mode_live_card",
        )
    return card


def decline_error(decline_code: str) -> StripeError:
    """The 402 `card_error` Stripe answers for a declined card."""
    message = _DECLINE_MESSAGES.get(decline_code, "Your card was declined.")
    if decline_code in ("expired_card", "incorrect_cvc", "processing_error"):
        return card_declined(message, decline_code=decline_code, code=decline_code)
    return card_declined(message, decline_code=decline_code)


def decline_message(decline_code: str) -> str:
    return _DECLINE_MESSAGES.get(decline_code, "Your card was declined.")
