from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


@csrf_exempt  # it changes nothing; a POST without a CSRF token must get the JSON 404 too
def api_path_not_served(request: HttpRequest) -> JsonResponse:
    """A path under /api/ this server does not serve answers JSON like every API refusal, in
    development (DEBUG) too: Stamps clients read the body of any error as JSON."""
    return JsonResponse({"detail": "Not found."}, status=404)


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
    path("api/", include("activities.urls")),
    re_path(r"^api/", api_path_not_served),  # last: only what nothing above serves
]
