"""Stripe's wire format: form-encoded parameters in, JSON objects and error envelopes out.

Everything that is about *how* Stripe talks (bracketed form keys, list objects, pagination
cursors, the error envelope and its HTTP statuses) lives here, so resource modules only deal
with *what* they store and return.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

STRIPE_DOCS = "https://stripe.com/docs/error-codes"


class StripeError(Exception):
    """An error answered to the client as Stripe's `{"error": {...}}` envelope."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}
        # Response headers that go with the error (the request's `Stripe-Version`).
        self.headers: dict[str, str] = {}

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.error_type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"{STRIPE_DOCS}/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        if request_id:
            error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        error.update(self.extra)
        return {"error": error}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None
) -> StripeError:
    return StripeError(message, param=param, code=code)


def missing_param(param: str) -> StripeError:
    return StripeError(f"Missing required param: {param}.", param=param, code="parameter_missing")


def resource_missing(label: str, object_id: str, *, param: str = "id") -> StripeError:
    return StripeError(
        f"No such {label}: '{object_id}'", status=404, code="resource_missing", param=param
    )


def card_declined(message: str, *, decline_code: str, code: str = "card_declined") -> StripeError:
    return StripeError(
        message,
        status=402,
        error_type="card_error",
        code=code,
        decline_code=decline_code if code == "card_declined" else None,
    )


def authentication_failed(message: str) -> StripeError:
    return StripeError(message, status=401)


def idempotency_mismatch(key: str) -> StripeError:
    return StripeError(
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
        error_type="idempotency_error",
    )


def api_error(request_id: str | None) -> StripeError:
    return StripeError(
        "An unexpected error occurred in the local Stripe server; it has been logged "
        f"(request {request_id}).",
        status=500,
        error_type="api_error",
    )


# --- decoding -------------------------------------------------------------------------------

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


def decode_form(text: str) -> dict[str, Any]:
    """Decode `a[b][0][c]=1&expand[]=x` into nested dicts and lists, as Stripe reads it."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_request(f"Invalid request body encoding: {exc}") from exc
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        path = _split_key(raw_key)
        _assign(root, path, value, raw_key)
    return _listify(root)


def _split_key(raw_key: str) -> list[str]:
    head, bracket, rest = raw_key.partition("[")
    if not head:
        raise invalid_request(f"Invalid parameter name: {raw_key!r}")
    if not bracket:
        return [head]
    rest = "[" + rest
    parts = _KEY_PART.findall(rest)
    if "".join(f"[{p}]" for p in parts) != rest:
        raise invalid_request(f"Invalid parameter name: {raw_key!r}", param=raw_key)
    return [head, *parts]


def _assign(node: dict[str, Any], path: list[str], value: str, raw_key: str) -> None:
    for position, part in enumerate(path):
        last = position == len(path) - 1
        if part == "":
            # `name[]` appends; represented with an integer-like key so `_listify` orders it.
            part = str(sum(1 for key in node if key.isdigit()))
        if last:
            if isinstance(node.get(part), dict):
                raise invalid_request(f"Invalid mix of scalar and nested values for {raw_key!r}")
            node[part] = value
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise invalid_request(
                f"Invalid mix of scalar and nested values for {raw_key!r}", param=raw_key
            )
        node = child


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


# --- typed access to parameters -------------------------------------------------------------

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


class Params:
    """Typed, validating access to decoded request parameters.

    Errors name the parameter the way Stripe does (`recurring[interval]`), so a client can
    point at the offending field.
    """

    def __init__(self, data: dict[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}[{key}]" if self.prefix else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def reject_unknown(self, allowed: Iterable[str]) -> None:
        allowed_set = set(allowed) | {"expand"}
        for key in self.data:
            if key not in allowed_set:
                raise invalid_request(
                    f"Received unknown parameter: {self.name(key)}",
                    param=self.name(key),
                    code="parameter_unknown",
                )

    def string(
        self,
        key: str,
        *,
        required: bool = False,
        choices: Iterable[str] | None = None,
        default: str | None = None,
    ) -> str | None:
        if key not in self.data:
            if required:
                raise missing_param(self.name(key))
            return default
        value = self.data[key]
        if not isinstance(value, str):
            raise invalid_request(
                f"Invalid string: {self.name(key)} must be a string", param=self.name(key)
            )
        if required and value == "":
            raise invalid_request(
                f"You passed an empty string for '{self.name(key)}'. We assume empty values "
                "are an attempt to unset a parameter; however '"
                f"{self.name(key)}' cannot be unset.",
                param=self.name(key),
                code="parameter_invalid_empty",
            )
        if choices is not None and value not in set(choices):
            options = ", ".join(f"`{c}`" for c in choices)
            raise invalid_request(
                f"Invalid {self.name(key)}: must be one of {options}", param=self.name(key)
            )
        return value

    def integer(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
        default: int | None = None,
    ) -> int | None:
        text = self.string(key, required=required)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise invalid_request(
                f"Invalid integer: {text}", param=self.name(key), code="parameter_invalid_integer"
            ) from None
        if minimum is not None and value < minimum:
            raise invalid_request(
                f"Invalid {self.name(key)}: must be at least {minimum}", param=self.name(key)
            )
        if maximum is not None and value > maximum:
            raise invalid_request(
                f"Invalid {self.name(key)}: must be at most {maximum}", param=self.name(key)
            )
        return value

    def decimal_string(self, key: str) -> str | None:
        text = self.string(key)
        if text is None or text == "":
            return None
        if not re.fullmatch(r"\d+(\.\d{1,12})?", text):
            raise invalid_request(f"Invalid decimal: {text}", param=self.name(key))
        return text

    def boolean(self, key: str, *, default: bool | None = None) -> bool | None:
        text = self.string(key)
        if text is None or text == "":
            return default
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise invalid_request(f"Invalid boolean: {text}", param=self.name(key))

    def nested(self, key: str, *, required: bool = False) -> Params | None:
        if key not in self.data or self.data[key] == "":
            if required:
                raise missing_param(self.name(key))
            return None
        value = self.data[key]
        if not isinstance(value, dict):
            raise invalid_request(
                f"Invalid object: {self.name(key)} must be a hash", param=self.name(key)
            )
        return Params(value, self.name(key))

    def items(self, key: str) -> list[Params]:
        """A list of hashes, e.g. `items[0][price]=...`."""
        value = self.data.get(key)
        if value is None or value == "":
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise invalid_request(
                f"Invalid array: {self.name(key)} must be a list of hashes", param=self.name(key)
            )
        return [Params(entry, f"{self.name(key)}[{i}]") for i, entry in enumerate(value)]

    def strings(self, key: str) -> list[str] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if value == "":
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid_request(
                f"Invalid array: {self.name(key)} must be a list of strings", param=self.name(key)
            )
        return value

    def expand(self) -> list[str]:
        return self.strings("expand") or []


def metadata_update(current: dict[str, str], params: Params, key: str = "metadata") -> dict:
    """Apply Stripe's metadata semantics: keys merge, `""` unsets a key or (whole) all keys."""
    if not params.has(key):
        return current
    value = params.raw(key)
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid_request("Invalid object: metadata must be a hash", param=key)
    merged = dict(current)
    for meta_key, meta_value in value.items():
        if not isinstance(meta_value, str):
            raise invalid_request(
                f"Invalid value for metadata[{meta_key}]", param=f"metadata[{meta_key}]"
            )
        if len(meta_key) > 40:
            raise invalid_request(
                "Metadata keys can have up to 40 characters", param=f"metadata[{meta_key}]"
            )
        if len(meta_value) > 500:
            raise invalid_request(
                "Metadata values can have up to 500 characters", param=f"metadata[{meta_key}]"
            )
        if meta_value == "":
            merged.pop(meta_key, None)
        else:
            merged[meta_key] = meta_value
    if len(merged) > 50:
        raise invalid_request("Metadata can have up to 50 keys", param=key)
    return merged


# --- list objects ---------------------------------------------------------------------------


def list_object(url: str, data: list[dict[str, Any]], has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def paginate(
    objects: list[dict[str, Any]],
    params: Params,
    url: str,
    *,
    label: str = "object",
) -> dict[str, Any]:
    """Cut a newest-first list by `limit` / `starting_after` / `ending_before`, as Stripe does."""
    limit = params.integer("limit", minimum=1, maximum=100, default=10)
    assert limit is not None
    starting_after = params.string("starting_after") or None
    ending_before = params.string("ending_before") or None
    if starting_after and ending_before:
        raise invalid_request(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    positions = {obj["id"]: index for index, obj in enumerate(objects)}
    if starting_after:
        if starting_after not in positions:
            raise resource_missing(label, starting_after, param="starting_after")
        start = positions[starting_after] + 1
        page = objects[start : start + limit]
        has_more = start + limit < len(objects)
    elif ending_before:
        if ending_before not in positions:
            raise resource_missing(label, ending_before, param="ending_before")
        end = positions[ending_before]
        start = max(0, end - limit)
        page = objects[start:end]
        has_more = start > 0
    else:
        page = objects[:limit]
        has_more = limit < len(objects)
    return list_object(url, page, has_more)


def created_filter(params: Params, key: str = "created") -> Callable[[int], bool]:
    """`created=123` or `created[gt|gte|lt|lte]=123`, as a predicate on timestamps."""
    if not params.has(key):
        return lambda _timestamp: True
    if isinstance(params.raw(key), str):
        exact = params.integer(key)
        return lambda timestamp: timestamp == exact
    bounds = params.nested(key)
    assert bounds is not None
    bounds.reject_unknown({"gt", "gte", "lt", "lte"})
    gt, gte = bounds.integer("gt"), bounds.integer("gte")
    lt, lte = bounds.integer("lt"), bounds.integer("lte")

    def matches(timestamp: int) -> bool:
        return (
            (gt is None or timestamp > gt)
            and (gte is None or timestamp >= gte)
            and (lt is None or timestamp < lt)
            and (lte is None or timestamp <= lte)
        )

    return matches
