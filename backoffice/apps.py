from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class BackofficeConfig(AppConfig):
    """Merchant staff: roles, the scoping of every admin page to one merchant, the
    dashboard, member import and export."""

    name = "backoffice"
    verbose_name = "Back office"


class BackofficeAdminConfig(AdminConfig):
    """Django's admin with the back office's site (its dashboard is the first page)."""

    default_site = "backoffice.site.BackofficeSite"
