from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares: errors, the API's base views and fields, database calls. It
    imports no other app of this project."""

    name = "core"
