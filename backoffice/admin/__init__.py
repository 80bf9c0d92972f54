"""Every model's admin, registered on the back office's site (Django's `admin.site`, made a
BackofficeSite by backoffice.apps.BackofficeAdminConfig)."""

from backoffice.admin import idempotency, loyalty, redemptions, staff, transactions

__all__ = ["idempotency", "loyalty", "redemptions", "staff", "transactions"]
