"""The subscription and invoice lifecycle: the rules every resource and the billing pass call.

From the ground up: `periods` (when a period ends), `usage` (what meters measured),
`invoice_lines`, `prorations`, `invoices` (drafted and finalized), `payments` (charging them,
retries), `subscriptions` (save, renew, retry, mark paid, cancel, expire), `item_changes`
(items added, changed or removed), `customers` (removing one) and `billing_pass` (the periodic
pass). Nothing here imports a resource module; `resources/` parse the API's parameters and
call these.
"""

from __future__ import annotations
