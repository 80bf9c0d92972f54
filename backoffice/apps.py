from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate

from backoffice.roles import roles_models_installed, roles_sync


def roles_ensure(sender: AppConfig, apps: Any = global_apps, **kwargs: Any) -> None:
    if roles_models_installed(apps):
        roles_sync(apps)


class BackofficeConfig(AppConfig):
    """Merchant staff: roles, the scoping of every admin page to one merchant, the
    dashboard, member import and export."""

    name = "backoffice"
    verbose_name = "Back office"

    def ready(self) -> None:
        post_migrate.connect(roles_ensure, sender=self)


class BackofficeAdminConfig(AdminConfig):
    """Django's admin with the back office's site (its dashboard is the first page)."""

    default_site = "backoffice.site.BackofficeSite"
