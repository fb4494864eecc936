"""Steps the account tests share: signing up, reading the mailed links, TOTP codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

PASSWORD = "a-long-unusual-passphrase"


def signup(client, email="new@example.com", password=PASSWORD, **extra):
    data = {"email": email, "password1": password, "password2": password, **extra}
    return client.post("/accounts/signup/", data)


def link_in(message, fragment: str) -> str:
    """The path of the first link in a mail whose path contains `fragment`."""
    for url in re.findall(r"https?://\S+", message.body):
        path = "/" + url.split("/", 3)[3]
        if fragment in path:
            return path
    raise AssertionError(f"no link with {fragment!r} in: {message.body}")


def totp_code(secret: str, *, at: float | None = None, step: int = 30) -> str:
    """The 6-digit TOTP code of a base32 secret (RFC 6238: HMAC-SHA1, 30-second steps)."""
    counter = int((time.time() if at is None else at) // step)
    key = base64.b32decode(secret, casefold=True)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"
