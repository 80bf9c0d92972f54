from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo shop `make run` and `make bench` seed (manage.py seed_demo): above every
    other app, since it fills them all."""

    name = "demo"
