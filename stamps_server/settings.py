"""Settings, all overridable from the environment (see README, "Configuration")."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from stamps_server import embedded_postgres

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# The fallback key only suits a laptop; `manage.py check --deploy` flags it in production.
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"
)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    # Django's admin, with the back office's site (its dashboard, scoped to one merchant).
    "backoffice.apps.BackofficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's JS and CSS, served locally rather than from a CDN
    "core",
    "core.idempotency",
    "loyalty",
    "redemptions",
    "transactions",
    "backoffice.apps.BackofficeConfig",
    "axes",  # locks out repeated failed admin logins
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the admin's CSS and JS in production
    "stamps_server.middleware.RequireHttpsForApiMiddleware",
    "stamps_server.middleware.LimitRequestBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

# Failed admin logins: after STAMPS_LOGIN_FAILURE_LIMIT failures of one username from one
# address, that pair is refused for STAMPS_LOGIN_LOCKOUT_MINUTES (django-axes).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("STAMPS_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("STAMPS_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ADMIN = False  # unlock with `manage.py axes_reset_username NAME`

ROOT_URLCONF = "stamps_server.urls"
WSGI_APPLICATION = "stamps_server.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# PostgreSQL only. Without DATABASE_URL, an embedded PostgreSQL server from PyPI with its data
# in var/postgres (stamps_server/embedded_postgres.py); the URL is exported so that processes
# this one starts (a server's workers, a test's subprocess) use the same database.
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = embedded_postgres.database_url(
        embedded_postgres.default_data_dir(BASE_DIR)
    )
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["DATABASE_URL"],
        conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60),
        conn_health_checks=env_bool("DJANGO_CONN_HEALTH_CHECKS", False),
    )
}
# Parameters bound by the server, so that psycopg prepares a statement a connection runs
# often (the ledger calls: PostgreSQL then parses and plans them once per connection).
# STAMPS_PREPARED_STATEMENTS=false for a pooler that cannot keep prepared statements
# (PgBouncer before 1.21 in transaction mode).
DATABASES["default"].setdefault("OPTIONS", {}).update(
    server_side_binding=True,
    prepare_threshold=5 if env_bool("STAMPS_PREPARED_STATEMENTS", True) else None,
)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env_bool("STAMPS_TRUST_X_FORWARDED_PROTO", False)
    else None
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["loyalty.authentication.MerchantTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["loyalty.authentication.HasMerchantToken"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.TokenRateThrottle"],
    "EXCEPTION_HANDLER": "core.exception_handler.stamps_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Stamps-compatible loyalty API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "A loyalty server that speaks the Stamps API: a till looks a member up, earns and "
        "deducts stamps, lists and redeems rewards, and reads the member's history.\n\n"
        "**Authentication**: every endpoint needs the merchant's API key, sent as the header "
        "`Authorization: Token <key>` (or `Bearer <key>`), or as `token` in the query string, "
        "or, on a POST, as `token` in the body. No key: 403; a wrong key: 401. The `merchant` "
        "field older clients send is optional; when sent it must be the key's merchant.\n\n"
        "**Errors** come in two shapes: most endpoints answer `{detail, error_message, "
        "error_code, errors: {field: message}}`; `POST /api/redemptions/add` answers the older "
        "`{detail, errors: [{field: message}]}`. Refusals made before the endpoint runs "
        "(authentication, method, size, rate) are `{detail}`.\n\n"
        "Every path answers with or without a trailing slash. Every POST takes an "
        "`Idempotency-Key` header so a retried request applies once."
    ),
    # Tags from the path after /api/ and an optional version: stamps, memberships, rewards...
    "SCHEMA_PATH_PREFIX": r"/api(/v[0-9]+)?",
    "ENFORCE_NON_BLANK_FIELDS": True,  # a string that may not be blank has minLength 1
    "GET_LIB_DOC_EXCLUDES": "core.schema.lib_doc_excludes",
    # The schema and the docs need no API key: a till's developer reads them before having one.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "loyalty@localhost")
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)

# Stamps-specific settings.
STAMPS_REQUIRE_HTTPS = env_bool("STAMPS_REQUIRE_HTTPS", True)
STAMPS_MAX_BODY_BYTES = env_int("STAMPS_MAX_BODY_BYTES", 64 * 1024)
STAMPS_THROTTLE_RATE = os.environ.get("STAMPS_THROTTLE_RATE", "")
STAMPS_TOKEN_CACHE_SECONDS = env_int("STAMPS_TOKEN_CACHE_SECONDS", 10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # The embedded server's every pg_ctl call, at INFO: only its problems are news.
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
