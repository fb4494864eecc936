from __future__ import annotations

from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "pricing"
    verbose_name = "Pricing"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save
        from djstripe.models import Price, Product

        from pricing import checks  # noqa: F401 (registers the system checks)
        from pricing.catalog import catalog_stamp_forget

        # A product or price written or deleted here: the next pricing page reads the stamp.
        for model in (Product, Price):
            post_save.connect(catalog_stamp_forget, sender=model, dispatch_uid=f"{model}.saved")
            post_delete.connect(catalog_stamp_forget, sender=model, dispatch_uid=f"{model}.deleted")
