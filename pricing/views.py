from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def pricing_page(request: HttpRequest) -> HttpResponse:
    return render(request, "pricing/pricing_page.html")
