from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
