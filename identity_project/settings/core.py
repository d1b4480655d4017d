"""Django's core: the secret key, hosts and HTTPS, apps, middleware, URLs, templates, locale, static."""

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from identity_project.settings.environment import DEBUG, VAR_DIR, env


def _development_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return secrets.token_urlsafe(50)


_key = env.str("SECRET_KEY", default="")
if not _key and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
# Development only (DEBUG, no SECRET_KEY): one random key per VAR_DIR, kept in this file, so
# sessions, tokens and the audit chain's signatures survive restarts and every process agrees.
# `migrate`, the first command a VAR_DIR sees, writes it (identity_project/apps.py); a process
# started before then has a key of its own.
DEVELOPMENT_SECRET_KEY_FILE = None if _key else VAR_DIR / "secret_key"
SECRET_KEY = _key or _development_key(DEVELOPMENT_SECRET_KEY_FILE)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS only once DEBUG is off (`manage.py check --deploy` is clean on these defaults): plain HTTP
# is redirected, except the probes a load balancer sends inside the network; cookies are
# secure-only; HSTS for a year. Behind a proxy that ends TLS, BEHIND_TLS_PROXY=true makes its
# X-Forwarded-Proto believed (set it only when the proxy overwrites that header).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
# The header only asks for preloading; nothing is preloaded until the domain is submitted.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)

INSTALLED_APPS = [
    "identity_project.apps.AdminConfig",
    "identity_project.apps.ProjectConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_email",
    "django_otp.plugins.otp_static",
    "identity_project.eventbus",
    "identity",
    "audit",
    "notification",
    "integration",
    "operations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "identity_project.eventbus.middleware.CorrelationIdMiddleware",
    "identity_project.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "identity.middleware.BoundSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "identity_project.urls"
WSGI_APPLICATION = "identity_project.wsgi.application"

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

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
