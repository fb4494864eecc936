"""`python -m stripe_server`: run the local Stripe server in the foreground."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from stripe_server.server import DEFAULT_HOST, DEFAULT_PORT, ServerConfig, serve
from stripe_server.webhooks import RetryPolicy


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_server",
        description="Local, stateful emulation of the Stripe API subset Portal uses.",
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port; 0 picks a free one (default %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".local_stripe"),
        help="directory of the SQLite database that keeps state across restarts "
        "(default %(default)s)",
    )
    parser.add_argument("--fresh", action="store_true", help="start with an empty database")
    parser.add_argument(
        "--webhook-retry-delay",
        type=float,
        default=2.0,
        help="seconds before the first webhook retry; doubles per attempt (default %(default)s)",
    )
    parser.add_argument(
        "--webhook-max-attempts",
        type=int,
        default=8,
        help="delivery attempts before giving up on an event (default %(default)s)",
    )
    parser.add_argument(
        "--billing-interval",
        type=float,
        default=5.0,
        help="seconds between automatic renewal passes (default %(default)s)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    serve(
        ServerConfig(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            fresh=args.fresh,
            retry=RetryPolicy(
                first_delay=args.webhook_retry_delay, max_attempts=args.webhook_max_attempts
            ),
            billing_interval=args.billing_interval,
        )
    )


if __name__ == "__main__":
    main()
