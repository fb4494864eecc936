"""Stripe's webhook signature scheme, checked exactly as Stripe documents it.

`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>[,v1=...]`. While a
secret is being rolled, Stripe sends one `v1` per active secret, so any matching entry counts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time


class SignatureError(ValueError):
    """The signature is missing, malformed, stale, from the future, or does not match."""


def signature_compute(*, payload: bytes, secret: str, timestamp: int) -> str:
    """The hex `v1` signature of `payload` sent at `timestamp` (as Stripe computes it)."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header_build(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header value for `payload` (tests, replays and the benchmark)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return (
        f"t={timestamp},v1={signature_compute(payload=payload, secret=secret, timestamp=timestamp)}"
    )


def signature_verify(
    *, payload: bytes, header: str | None, secret: str, tolerance: int, now: float | None = None
) -> int:
    """Check `header` against `payload`; return its timestamp or raise `SignatureError`.

    The timestamp must be within `tolerance` seconds of `now`, in the past or the future.
    Signatures are compared in constant time.
    """
    if not header:
        raise SignatureError("Missing Stripe-Signature header.")
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(value)
    # ASCII digits, at most 12 of them: a longer number (or another script's digits) is no
    # Unix time, and would overflow the float arithmetic below.
    if len(timestamps) != 1 or not re.fullmatch(r"[0-9]{1,12}", timestamps[0]):
        raise SignatureError("Stripe-Signature header has no valid timestamp (t=).")
    if not signatures:
        raise SignatureError("Stripe-Signature header has no v1 signature.")
    timestamp = int(timestamps[0])
    now = time.time() if now is None else now
    if timestamp < now - tolerance:
        raise SignatureError(
            f"Signature timestamp is {int(now - timestamp)} s old, more than the {tolerance} s "
            "tolerance (a replayed or delayed request)."
        )
    if timestamp > now + tolerance:
        raise SignatureError(
            f"Signature timestamp is {int(timestamp - now)} s in the future, more than the "
            f"{tolerance} s tolerance (check the server clock)."
        )
    expected = signature_compute(payload=payload, secret=secret, timestamp=timestamp)
    # Check every entry (no early exit) so timing does not tell which one matched.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError(
            "No v1 signature matches the payload: check DJSTRIPE_WEBHOOK_SECRET is this "
            "endpoint's signing secret."
        )
    return timestamp
