"""The billing dashboard's page: `/admin/billing/`, a view of the admin site (staff only)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

from accounts.metrics.selectors import billing_dashboard


@require_safe
def billing_dashboard_page(request: HttpRequest) -> TemplateResponse:
    """MRR and its movements, trials, dunning and webhook health, read from the database.

    Mounted through `admin.site.admin_view` (in `portal/urls.py`), which sends anyone who is
    not active staff to the admin's login page."""
    return TemplateResponse(
        request,
        "admin/billing/dashboard.html",
        {
            **admin.site.each_context(request),
            "title": "Billing",
            "dashboard": billing_dashboard(),
        },
    )
