"""dj-stripe's invoice admin, on today's Stripe shapes.

dj-stripe 2.11's `InvoiceAdmin` lists `Invoice.paid`, which reads the top-level `paid` that
Stripe removed in API 2025-03-31: its changelist fails with `KeyError: 'paid'` on every invoice
synced at today's version. This admin lists the invoice's `status` instead, and its total in
the invoice's currency.
"""

from __future__ import annotations

from django.contrib import admin
from djstripe.admin.admin import InvoiceAdmin as DjstripeInvoiceAdmin
from djstripe.models import Invoice

from pricing.price_maths import amount_format


class InvoiceAdmin(DjstripeInvoiceAdmin):
    list_display = ("number", "customer", "status", "total_amount", "created")
    list_filter = ("created",)

    @admin.display(description="Status")
    def status(self, invoice: Invoice) -> str:
        return str(invoice.stripe_data.get("status") or "")

    @admin.display(description="Total")
    def total_amount(self, invoice: Invoice) -> str:
        data = invoice.stripe_data
        return amount_format(
            amount=int(data.get("total") or 0), currency=data.get("currency") or "usd", cents=True
        )


if admin.site.is_registered(Invoice):
    admin.site.unregister(Invoice)
admin.site.register(Invoice, InvoiceAdmin)
