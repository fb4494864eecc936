"""WebhookEndpoints: where events are delivered; the `whsec_` secret is shown on create only."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from stripe_server import versions
from stripe_server.context import Context
from stripe_server.ids import new_id, new_secret
from stripe_server.routing import route
from stripe_server.wire import Params, StripeError, invalid_request, list_object, metadata_update

_EVENT_TYPE = re.compile(r"\*|[a-z_]+(\.[a-z_]+)+")


def _public(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in endpoint.items() if key != "secret"}


def _url(params: Params, *, required: bool) -> str | None:
    url = params.string("url", required=required)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_request("Invalid URL: must be an http(s) URL.", param="url")
    return url


def _enabled_events(params: Params, *, required: bool) -> list[str] | None:
    enabled = params.strings("enabled_events")
    if enabled is None:
        if required:
            raise invalid_request(
                "Missing required param: enabled_events.",
                param="enabled_events",
                code="parameter_missing",
            )
        return None
    if not enabled:
        raise invalid_request("enabled_events cannot be empty.", param="enabled_events")
    for event_type in enabled:
        if not _EVENT_TYPE.fullmatch(event_type):
            raise invalid_request(
                f"Invalid enabled_events: {event_type} is not an event type.",
                param="enabled_events",
            )
    return enabled


def _api_version(params: Params) -> str | None:
    """The version events are rendered in for this endpoint; None: the account's default."""
    requested = params.string("api_version")
    if not requested:
        return None
    try:
        return versions.resolve(requested)
    except StripeError as error:
        error.param = "api_version"
        raise


@route("POST", "/v1/webhook_endpoints")
def webhook_endpoint_create(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"url", "enabled_events", "description", "metadata", "api_version",
                           "connect"})  # fmt: skip
    if params.boolean("connect"):
        raise invalid_request("Connect webhook endpoints are not emulated.", param="connect")
    endpoint = {
        "api_version": _api_version(params),
        "application": None,
        "created": ctx.now(),
        "description": params.string("description") or None,
        "enabled_events": _enabled_events(params, required=True),
        "id": new_id("we"),
        "livemode": False,
        "metadata": metadata_update({}, params),
        "object": "webhook_endpoint",
        "status": "enabled",
        "url": _url(params, required=True),
        "secret": new_secret("whsec"),
    }
    ctx.db.save("webhook_endpoint", endpoint)
    return ctx.present(endpoint)


@route("GET", "/v1/webhook_endpoints/{id}")
def webhook_endpoint_retrieve(ctx: Context) -> dict[str, Any]:
    return ctx.present(_public(ctx.require("webhook_endpoint", ctx.arg("id"))))


@route("POST", "/v1/webhook_endpoints/{id}")
def webhook_endpoint_update(ctx: Context) -> dict[str, Any]:
    params = ctx.params
    params.reject_unknown({"url", "enabled_events", "description", "metadata", "disabled"})
    endpoint = ctx.require("webhook_endpoint", ctx.arg("id"))
    url = _url(params, required=False)
    if url is not None:
        endpoint["url"] = url
    enabled = _enabled_events(params, required=False)
    if enabled is not None:
        endpoint["enabled_events"] = enabled
    if params.has("description"):
        endpoint["description"] = params.string("description") or None
    disabled = params.boolean("disabled")
    if disabled is not None:
        endpoint["status"] = "disabled" if disabled else "enabled"
    endpoint["metadata"] = metadata_update(endpoint["metadata"], params)
    ctx.db.save("webhook_endpoint", endpoint)
    return ctx.present(_public(endpoint))


@route("DELETE", "/v1/webhook_endpoints/{id}")
def webhook_endpoint_delete(ctx: Context) -> dict[str, Any]:
    endpoint = ctx.require("webhook_endpoint", ctx.arg("id"))
    ctx.db.delete(endpoint["id"])
    return {"deleted": True, "id": endpoint["id"], "object": "webhook_endpoint"}


@route("GET", "/v1/webhook_endpoints")
def webhook_endpoint_list(ctx: Context) -> dict[str, Any]:
    ctx.params.reject_unknown({"limit", "starting_after", "ending_before"})
    endpoints = [_public(endpoint) for endpoint in ctx.db.all("webhook_endpoint")]
    return ctx.page(endpoints, "/v1/webhook_endpoints", "webhook endpoint") or list_object(
        "/v1/webhook_endpoints", []
    )
