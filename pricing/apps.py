from __future__ import annotations

from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "pricing"
    verbose_name = "Pricing"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from pricing import checks  # noqa: F401 (registers the system checks)
        from pricing.catalog import CATALOG_MODELS, catalog_stamp_forget

        # A product, price, coupon or promotion code written or deleted here: the next pricing
        # page reads the stamp.
        for model in CATALOG_MODELS:
            post_save.connect(catalog_stamp_forget, sender=model, dispatch_uid=f"{model}.saved")
            post_delete.connect(catalog_stamp_forget, sender=model, dispatch_uid=f"{model}.deleted")
