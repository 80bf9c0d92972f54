from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from stamps_server.middleware import API_PREFIX

# The schema and the docs need no API key (SPECTACULAR_SETTINGS). They sit under /api/, so with
# STAMPS_REQUIRE_HTTPS on they are refused over plain http like every API path: the docs' "Try it
# out" sends a real key, which must not cross the network in clear; behind TLS they are served.
urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("api/", include("loyalty.urls")),
    path("api/", include("redemptions.urls")),
    path("api/", include("transactions.urls")),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path under /api/ this server does not serve answers JSON like every API refusal:
    Stamps clients read the body of any error as JSON."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found
