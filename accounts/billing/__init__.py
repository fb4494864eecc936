"""Billing: what a holder's subscription is (`state`), and the Stripe calls that change it."""

from __future__ import annotations
