from __future__ import annotations

from django.urls import path

from pricing import views

app_name = "pricing"

urlpatterns = [
    path("", views.pricing_page, name="pricing_page"),
]
