"""Billing metrics: MRR and its movements, trials, dunning and webhook health, the daily
snapshots they are kept in, and the staff dashboard at `/admin/billing/` that shows them."""

from __future__ import annotations
