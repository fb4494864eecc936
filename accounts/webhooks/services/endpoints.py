"""The endpoint at Stripe: make sure Stripe sends every event to Portal's URL."""

from __future__ import annotations

from portal.stripe_client import stripe_client, translate_stripe_errors


def webhook_endpoint_ensure(*, url: str, replace: bool = False) -> tuple[str, str | None, bool]:
    """Make sure Stripe delivers every event to `url`; return (endpoint id, secret, created).

    Stripe shows an endpoint's secret only when it is created, so for an endpoint that already
    exists the secret is None; `replace` deletes the endpoints at `url` and creates a new one,
    whose secret is returned (what `make run` does on each start).
    """
    client = stripe_client()
    with translate_stripe_errors("list webhook endpoints"):
        existing = [
            endpoint
            for endpoint in client.v1.webhook_endpoints.list(
                params={"limit": 100}
            ).auto_paging_iter()
            if endpoint.url == url
        ]
    if existing and not replace:
        enabled = [endpoint for endpoint in existing if endpoint.status == "enabled"]
        if enabled:
            return enabled[0].id, None, False
    with translate_stripe_errors("replace the webhook endpoint"):
        for endpoint in existing:
            client.v1.webhook_endpoints.delete(endpoint.id)
    with translate_stripe_errors("create the webhook endpoint"):
        endpoint = client.v1.webhook_endpoints.create(
            params={
                "url": url,
                "enabled_events": ["*"],
                "description": "Portal (/stripe/webhook/)",
            }
        )
    return endpoint.id, endpoint.secret, True
