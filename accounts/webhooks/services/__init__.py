"""The webhook pipeline's writes, one module per job:

- `receiving`: check that a delivered body is a Stripe event, and store it (once).
- `processing`: process one stored event (dj-stripe's sync, then the handlers), drain the
  received ones, retry the due ones.
- `reconciling`: ask Stripe for the events Portal missed and process them; replay events.
- `endpoints`: make sure Stripe sends its events to Portal.

Reads are in `accounts.webhooks.selectors`. None of these knows about Celery: the tasks run
them, and `accounts.webhooks.scheduling` decides which task runs when.
"""

from __future__ import annotations
