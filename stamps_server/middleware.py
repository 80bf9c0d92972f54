from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

from core.request_log import current_request, route_label
from loyalty.authentication import ApiClient

API_PREFIX = "/api/"


class RequestFactsMiddleware:
    """Notes on the request's facts (core.request_log) the route that served it and the
    caller DRF authenticated, for the line stamps_server/front.py logs. A request refused
    before URL resolution (https, size) is given the route its path resolves to."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        facts = current_request()
        if facts is not None:
            match = request.resolver_match
            if match is None:
                try:
                    match = resolve(request.path_info)
                except Resolver404:
                    match = None
            facts.route = route_label(match)
            # DRF sets `user` on the request; AuthenticationMiddleware's lazy user (the
            # admin's) is neither evaluated nor logged.
            caller = vars(request).get("user")
            if type(caller) is ApiClient:
                facts.caller_note(merchant_id=caller.merchant.pk, api_key_id=caller.token_id)
        return response


class RequireHttpsForApiMiddleware:
    """Stamps answers plain-http API calls with 403 rather than redirecting them: a redirected
    POST would be replayed as a GET by many clients, and the token has already leaked."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.STAMPS_REQUIRE_HTTPS
            and request.path.startswith(API_PREFIX)
            and not request.is_secure()
        ):
            return JsonResponse({"detail": "Please use https instead of http"}, status=403)
        return self.get_response(request)


class LimitRequestBodyMiddleware:
    """Refuses API bodies over STAMPS_MAX_BODY_BYTES with 413 before anything parses them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX) and self.body_too_large(request):
            return JsonResponse({"detail": "Request body too large"}, status=413)
        return self.get_response(request)

    @staticmethod
    def body_too_large(request: HttpRequest) -> bool:
        # WSGI servers hand Django a body only up to CONTENT_LENGTH, so the header decides.
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        return declared > settings.STAMPS_MAX_BODY_BYTES
