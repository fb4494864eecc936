"""A local, stateful emulation of the Stripe API subset Portal uses.

Run it with `python -m stripe_server`; start one for tests with `stripe_server.testing`.
Standard library only, and independent of the portal's Django apps.
"""

from __future__ import annotations
