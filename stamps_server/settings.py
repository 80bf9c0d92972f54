"""Settings, all overridable from the environment (see README, "Configuration")."""

import ipaddress
import logging
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

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
# The fallback key only suits a laptop (DEBUG on): without DEBUG the server refuses it.
DEVELOPMENT_SECRET_KEY = "insecure-dev-key-set-DJANGO_SECRET_KEY-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
if not DEBUG and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set, or shorter than 32 characters: with DJANGO_DEBUG off "
        "a known or guessable key would let anyone forge sessions. Set it to a long random "
        "string, e.g. "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
    )
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is empty: with DJANGO_DEBUG off no request would be answered. "
        "Set it to the host names this server answers to, comma-separated."
    )
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
    "csp",
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
    "stamps_server.middleware.RequestFactsMiddleware",  # first: it sees every answer
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
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
# Behind PgBouncer in transaction pooling mode a cursor may not outlive its transaction.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
    "DJANGO_DISABLE_SERVER_SIDE_CURSORS", False
)
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
# Per API key. Unset: 6000/minute without DEBUG (a chain of 500 tills each calling every
# five seconds, on one key), off with DEBUG; "off" or empty turns it off.
STAMPS_THROTTLE_RATE = os.environ.get("STAMPS_THROTTLE_RATE", "" if DEBUG else "6000/minute")
if STAMPS_THROTTLE_RATE.strip().lower() == "off":
    STAMPS_THROTTLE_RATE = ""
if STAMPS_THROTTLE_RATE and not re.fullmatch(r"[0-9]+/[smhd][a-z]*", STAMPS_THROTTLE_RATE):
    raise ImproperlyConfigured(
        f"STAMPS_THROTTLE_RATE {STAMPS_THROTTLE_RATE!r}: write it as calls/period, e.g. "
        "6000/minute (second, minute, hour or day), or off."
    )
STAMPS_TOKEN_CACHE_SECONDS = env_int("STAMPS_TOKEN_CACHE_SECONDS", 10)

# Production defaults (check --deploy is clean; tests/test_production_settings.py). With https
# required, the admin's cookies are Secure, a plain-http admin visit is redirected to https
# (API calls get the documented 403 instead: RequireHttpsForApiMiddleware), and browsers are
# told to use https only for DJANGO_SECURE_HSTS_SECONDS (0 turns HSTS off, e.g. while
# trying TLS out).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = STAMPS_REQUIRE_HTTPS
SECURE_SSL_REDIRECT = STAMPS_REQUIRE_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^api/", r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000 if STAMPS_REQUIRE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# Warnings check --deploy may give, each silenced for the reason beside it.
SILENCED_WITH_REASONS = {
    "security.W005": (
        "HSTS for every subdomain is the domain owner's decision, not a loyalty service's: "
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS=true when it is yours to make"
    ),
    "security.W021": (
        "the browsers' HSTS preload list cannot be left quickly: DJANGO_SECURE_HSTS_PRELOAD=true "
        "once the whole domain is served over https for good"
    ),
}
SILENCED_SYSTEM_CHECKS = list(SILENCED_WITH_REASONS)
# The admin's pages load nothing from elsewhere and run no inline script; the API answers
# JSON (and its docs page builds Swagger UI with an inline script), so it is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Staff accounts: Django's four password rules; an admin session ends after this long idle.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("DJANGO_PASSWORD_MIN_LENGTH", 12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_IDLE_SECONDS", 30 * 60)
# The admin's messages (a new API key, shown once) kept in the session's row, not in a
# cookie that any proxy logging headers would keep.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_SAVE_EVERY_REQUEST = True  # each request restarts the idle time
# Error reports (the 500 page with DEBUG, mails to ADMINS) hide API keys wherever sent.
DEFAULT_EXCEPTION_REPORTER = "core.redaction.KeyHidingExceptionReporter"


# Operations (README, "Production"): GET /metrics and what it may be read by; the log format.
STAMPS_METRICS = env_bool("STAMPS_METRICS", True)
STAMPS_METRICS_ALLOW = env_list("STAMPS_METRICS_ALLOW", "")
for _cidr in STAMPS_METRICS_ALLOW:
    ipaddress.ip_network(_cidr)  # a mistyped network stops the start, not a scrape
STAMPS_METRICS_TOKEN = os.environ.get("STAMPS_METRICS_TOKEN", "")
STAMPS_LOG_FORMAT = os.environ.get("STAMPS_LOG_FORMAT", "json").strip().lower()
if STAMPS_LOG_FORMAT not in {"json", "plain"}:
    raise ValueError(f"STAMPS_LOG_FORMAT must be json or plain, not {STAMPS_LOG_FORMAT!r}")

# No log line prints the thread or process names, and Python's logging looks them up for
# every record unless told not to (its documented optimisation settings).
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False

# One line per request from the logger stamps.request (core/request_log.py), every line with
# the request's id; JSON for a log shipper, plain for a terminal.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "core.request_log.RequestIdFilter"},
        "path_withheld": {"()": "core.request_log.PathWithheldFilter"},
        "hide_keys": {"()": "core.redaction.HideKeysFilter"},
    },
    "formatters": {
        "json": {"()": "core.request_log.JsonFormatter"},
        "plain": {"()": "core.request_log.PlainFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": STAMPS_LOG_FORMAT,
            "filters": ["request_id", "hide_keys"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # The embedded server's every pg_ctl call, at INFO: only its problems are news.
        "embedded_postgres": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Django's loggers through the same handler, not also through Django's own.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.request": {"filters": ["path_withheld"]},
        # A scanner's foreign Host header is answered 400; a traceback per probe is noise.
        "django.security.DisallowedHost": {"handlers": [], "propagate": False},
        # runserver's own access line repeats stamps.request's with the raw path and query
        # string, where an API key may be: off.
        "django.server": {"handlers": [], "propagate": False},
    },
}
