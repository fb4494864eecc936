"""Where the server sends a browser: success, cancel and return URLs and the pages' links.

Only absolute http(s) URLs are accepted or shown, never `javascript:` or relative ones, so a
session's URLs cannot run script in a hosted page.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL (never `javascript:` or relative), else None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return url
