from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


@csrf_exempt  # it changes nothing; a POST without a CSRF token must get the JSON 404 too
def api_path_not_served(request: HttpRequest) -> JsonResponse:
    """A path under /api/ this server does not serve answers JSON like every API refusal, in
    development (DEBUG) too: Stamps clients read the body of any error as JSON."""
    return JsonResponse({"detail": "Not found."}, status=404)


LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Stamps-compatible loyalty server</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em}</style>
</head><body><h1>Stamps-compatible loyalty server</h1>
<p>A loyalty backend: tills award, deduct and redeem customers' stamps over its API; each
merchant's staff run their programme from the back office.</p>
<ul><li><a href="/admin/">Back office</a> (staff login)</li>
<li><a href="/api/docs/">API documentation</a> (needs https unless the server allows http)</li>
</ul></body></html>"""


def landing(request: HttpRequest) -> HttpResponse:
    """What `/` and the admin's "View site" show: what this is and where to go."""
    return HttpResponse(LANDING)


# The schema and the docs need no API key (SPECTACULAR_SETTINGS). They sit under /api/, so with
# STAMPS_REQUIRE_HTTPS on they are refused over plain http like every API path: the docs' "Try it
# out" sends a real key, which must not cross the network in clear; behind TLS they are served.
urlpatterns = [
    path("", landing, name="landing"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("api/", include("loyalty.urls")),
    path("api/", include("redemptions.urls")),
    path("api/", include("transactions.urls")),
    path("api/", include("activities.urls")),
    re_path(r"^api/", api_path_not_served),  # last: only what nothing above serves
]
