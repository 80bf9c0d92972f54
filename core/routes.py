from django.urls import URLPattern, re_path
from django.views.generic import View


def endpoint(route: str, view: type[View], name: str) -> URLPattern:
    """Stamps paths answer with or without a trailing slash: POS clients send both, and a
    redirect would turn their POST into a GET."""
    return re_path(rf"^{route}/?$", view.as_view(), name=name)  # type: ignore[attr-defined]
