"""Settings, read once from the environment (django-environ); `.env.example` lists every one.

With nothing set, the platform runs on embedded defaults: SQLite, a filesystem broker that
separate processes on one machine share, a local-memory cache and mail written to files, all
under VAR_DIR. Production sets DATABASE_URL, CELERY_BROKER_URL, REDIS_URL, EMAIL_URL,
SECRET_KEY and DEBUG=false.
"""

import ipaddress
import secrets
from datetime import timedelta
from pathlib import Path

import environ
import structlog
from django.core.exceptions import ImproperlyConfigured

from identity_project.eventbus import routing

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    # Development only: one random key per VAR_DIR, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
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

# --- database -----------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker, beat and relay share one file: WAL lets readers run beside the one writer,
    # IMMEDIATE takes the write lock up front instead of failing half-way with "locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Every door signs in through identity's login service; the first backend only finds a Django
# session's user and answers Django's model permissions for the admin site, never a password.
# Permissions: roles and grants (identity/backends.py).
AUTHENTICATION_BACKENDS = ["identity.backends.SessionUserBackend", "identity.backends.RoleBackend"]

# Sign-in, sessions and lockout (identity/services). Durations in seconds.
IDENTITY = {
    "ACCESS_TOKEN_LIFETIME": env.int("IDENTITY_ACCESS_TOKEN_LIFETIME", default=300),
    "REFRESH_TOKEN_LIFETIME": env.int("IDENTITY_REFRESH_TOKEN_LIFETIME", default=8 * 3600),
    # A session ends after this long without a refresh, and in any case after the absolute lifetime.
    "SESSION_IDLE_TIMEOUT": env.int("IDENTITY_SESSION_IDLE_TIMEOUT", default=2 * 3600),
    "SESSION_ABSOLUTE_LIFETIME": env.int("IDENTITY_SESSION_ABSOLUTE_LIFETIME", default=12 * 3600),
    # Keycloak-like brute-force detection: THRESHOLD failures within WINDOW lock the account for
    # BASE * 2**(locks so far); after MAX_TEMPORARY_LOCKS the next lock lasts until an admin lifts it.
    "LOCKOUT_THRESHOLD": env.int("IDENTITY_LOCKOUT_THRESHOLD", default=5),
    "LOCKOUT_WINDOW": env.int("IDENTITY_LOCKOUT_WINDOW", default=900),
    "LOCKOUT_BASE": env.int("IDENTITY_LOCKOUT_BASE", default=60),
    "LOCKOUT_MAX_TEMPORARY_LOCKS": env.int("IDENTITY_LOCKOUT_MAX_TEMPORARY_LOCKS", default=5),
    # An address with a successful sign-in this recent is not locked out by failures from elsewhere.
    "KNOWN_ADDRESS_DAYS": env.int("IDENTITY_KNOWN_ADDRESS_DAYS", default=30),
    # Proxies whose X-Forwarded-For is believed; the client address is never read from a header
    # a client can set.
    "TRUSTED_PROXIES": env.list("IDENTITY_TRUSTED_PROXIES", default=[]),
    # Privileged accounts unused this long are a compliance finding; elevations last at most this long.
    "COMPLIANCE_STALE_DAYS": env.int("IDENTITY_COMPLIANCE_STALE_DAYS", default=90),
    "ELEVATION_MAX_SECONDS": env.int("IDENTITY_ELEVATION_MAX_SECONDS", default=8 * 3600),
    # The second factor (identity/services/mfa.py) and trusted browsers.
    "MFA_CHALLENGE_LIFETIME": env.int("IDENTITY_MFA_CHALLENGE_LIFETIME", default=300),
    "MFA_MAX_ATTEMPTS": env.int("IDENTITY_MFA_MAX_ATTEMPTS", default=5),
    # Wrong second-factor codes within the lockout window that lock the account: counted per
    # account across every challenge (finished or abandoned) and re-authentication, apart from
    # password failures.
    "MFA_LOCK_THRESHOLD": env.int("IDENTITY_MFA_LOCK_THRESHOLD", default=10),
    # Identity's own mails (identity/mail.py): a code or a reset link is of use for minutes, so
    # few retries, close together; one attempt, all of it, within MAIL_DEADLINE seconds.
    "MAIL_MAX_ATTEMPTS": env.int("IDENTITY_MAIL_MAX_ATTEMPTS", default=5),
    "MAIL_BACKOFF_FACTOR": env.float("IDENTITY_MAIL_BACKOFF_FACTOR", default=1.0),
    "MAIL_BACKOFF_MAX": env.float("IDENTITY_MAIL_BACKOFF_MAX", default=60.0),
    "MAIL_DEADLINE": env.float("IDENTITY_MAIL_DEADLINE", default=30.0),
    # Staff without a confirmed second factor enrol one before the admin site opens.
    "ADMIN_REQUIRE_MFA": env.bool("IDENTITY_ADMIN_REQUIRE_MFA", default=not DEBUG),
    # A sensitive change (a factor added or removed, backup codes, a trusted device, the e-mail)
    # needs a sign-in or re-authentication this recent (API.md, "Re-authentication").
    "REAUTH_SECONDS": env.int("IDENTITY_REAUTH_SECONDS", default=600),
    "TRUSTED_DEVICE_DAYS": env.int("IDENTITY_TRUSTED_DEVICE_DAYS", default=30),
    "BACKUP_CODES": env.int("IDENTITY_BACKUP_CODES", default=10),
    # Credential stuffing: failures for this many distinct accounts from one address within the
    # lockout window block the address for STUFFING_BLOCK seconds.
    "STUFFING_ACCOUNTS": env.int("IDENTITY_STUFFING_ACCOUNTS", default=10),
    "STUFFING_BLOCK": env.int("IDENTITY_STUFFING_BLOCK", default=3600),
    # Risk: a sign-in scoring at least these is medium, high, critical (identity/services/risk.py).
    "RISK_MEDIUM": env.int("IDENTITY_RISK_MEDIUM", default=30),
    "RISK_HIGH": env.int("IDENTITY_RISK_HIGH", default=60),
    "RISK_CRITICAL": env.int("IDENTITY_RISK_CRITICAL", default=90),
    # A high-risk sign-in without a second factor to ask for is refused (True) or let through.
    "RISK_REFUSE_HIGH_WITHOUT_MFA": env.bool("IDENTITY_RISK_REFUSE_HIGH_WITHOUT_MFA", default=False),
    "PASSWORD_RESET_URL": env.str(
        "IDENTITY_PASSWORD_RESET_URL", default="http://127.0.0.1:8000/reset-password?token={token}"
    ),
    # Retention (identity/retention.py, daily): days a row is kept once it is of no more use; what
    # is still live is never removed, and each table keeps at least what its readers need (sign-in
    # attempts: KNOWN_ADDRESS_DAYS and the lockout window; ended sessions: a day, for risk).
    "RETENTION_DAYS": {
        "login_attempts": env.int("IDENTITY_LOGIN_ATTEMPT_RETENTION_DAYS", default=90),
        "refresh_tokens": env.int("IDENTITY_REFRESH_TOKEN_RETENTION_DAYS", default=7),
        "sessions": env.int("IDENTITY_SESSION_RETENTION_DAYS", default=90),
        "mfa_challenges": env.int("IDENTITY_MFA_CHALLENGE_RETENTION_DAYS", default=30),
    },
    # Rows removed per statement: small, so a sweep never holds a table for long.
    "RETENTION_BATCH": env.int("IDENTITY_RETENTION_BATCH", default=1000),
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=IDENTITY["ACCESS_TOKEN_LIFETIME"]),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=IDENTITY["REFRESH_TOKEN_LIFETIME"]),
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=""),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "UPDATE_LAST_LOGIN": False,
}
SIMPLE_JWT["SIGNING_KEY"] = SIMPLE_JWT["SIGNING_KEY"] or SECRET_KEY

# django-otp's own growing delays are off: a challenge allows MFA_MAX_ATTEMPTS codes, and wrong
# codes lock the account (MFA_LOCK_THRESHOLD); e-mail codes are sent once per challenge.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_EMAIL_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
OTP_EMAIL_COOLDOWN_DURATION = 0
OTP_EMAIL_SUBJECT = "Your sign-in code"
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Identity platform")

# Passkeys (WebAuthn, identity/services/passkeys.py). The relying party id is the domain the
# passkeys are bound to (a browser refuses an IP address; http://localhost is a secure context);
# an assertion or attestation is accepted only from one of the origins, and only against an
# options challenge made within the last WEBAUTHN_CEREMONY_SECONDS, once.
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="localhost")
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="Identity platform")
WEBAUTHN_ORIGINS = env.list("WEBAUTHN_ORIGINS", default=["http://localhost:8000"])
WEBAUTHN_CEREMONY_SECONDS = env.int("WEBAUTHN_CEREMONY_SECONDS", default=300)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# --- cache (throttles, circuit state) -----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "identity_project.cache.SharedClientRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- mail ---------------------------------------------------------------------------------
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    _email = env.email_url("EMAIL_URL")
    if _email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend":
        # The same, with sockets a send's total deadline can shut (eventbus/outbound/mail.py).
        _email["EMAIL_BACKEND"] = "identity_project.eventbus.outbound.mail.EmailBackend"
    vars().update(_email)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="identity@localhost")

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "identity.authentication.SessionJWTAuthentication",
        "identity.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "auth_ip": env.str("THROTTLE_AUTH_IP", default="60/min"),
        "auth_account": env.str("THROTTLE_AUTH_ACCOUNT", default="20/min"),
        # auth/reauthenticate and me/password, per account and per address (identity/api/throttles.py)
        "reauth": env.str("THROTTLE_REAUTH", default="10/min"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "identity_project.schema.AutoSchema",
    "EXCEPTION_HANDLER": "identity_project.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "identity_project.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Identity platform API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024

# --- Celery and the event bus -------------------------------------------------------------
EVENTBUS = {
    # RabbitMQ quorum queues dead-letter a message after this many redeliveries (a message
    # that kills its worker every time); the drain moves it into the dead-letter store.
    "DELIVERY_LIMIT": env.int("EVENTBUS_DELIVERY_LIMIT", default=5),
    "MAX_RETRIES": env.int("EVENTBUS_MAX_RETRIES", default=8),
    "BACKOFF_FACTOR": env.float("EVENTBUS_BACKOFF_FACTOR", default=1.0),
    # Far below RabbitMQ's consumer_timeout and Redis's visibility timeout (CELERY-NOTES.md).
    "BACKOFF_MAX": env.float("EVENTBUS_BACKOFF_MAX", default=300.0),
    "BATCH_SIZE": env.int("EVENTBUS_BATCH_SIZE", default=1000),
    # An idle relay's poll; a commit rings its doorbell (host:port list, empty: poll only) at once.
    "RELAY_INTERVAL": env.float("EVENTBUS_RELAY_INTERVAL", default=0.5),
    "RELAY_WAKE": env.str("EVENTBUS_RELAY_WAKE", default="127.0.0.1:8769"),
    # Where this relay listens (default: the first RELAY_WAKE address).
    "RELAY_LISTEN": env.str("EVENTBUS_RELAY_LISTEN", default=""),
    # The deadline of every broker call: connect, publish, confirm.
    "BROKER_TIMEOUT": env.float("EVENTBUS_BROKER_TIMEOUT", default=5.0),
    # Idempotency keys outlive any redelivery or replay that could still come.
    "PROCESSED_RETENTION_DAYS": env.int("EVENTBUS_PROCESSED_RETENTION_DAYS", default=90),
    # An outbound record pending this long past its next attempt (its task was lost) is swept.
    "OUTBOUND_SWEEP_AFTER": env.int("EVENTBUS_OUTBOUND_SWEEP_AFTER", default=120),
}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _folder in ("queue", "control", "processed"):
        (BROKER_FOLDER / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_FOLDER / "queue"),
        "data_folder_out": str(BROKER_FOLDER / "queue"),
        "control_folder": str(BROKER_FOLDER / "control"),
        "processed_folder": str(BROKER_FOLDER / "processed"),
        "polling_interval": env.float("FILESYSTEM_BROKER_POLLING_INTERVAL", default=0.2),
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Unacked messages come back only after this; keep retry backoff far below it. Every socket
    # operation has the broker deadline.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_timeout": EVENTBUS["BROKER_TIMEOUT"],
        "socket_connect_timeout": EVENTBUS["BROKER_TIMEOUT"],
    }
else:
    # Publisher confirms, waited for at most BROKER_TIMEOUT (the relay's publish timeout, and the
    # socket's own for any other publisher, such as a task's retry); a socket write never blocks
    # longer either (RabbitMQ stops reading from a publisher it blocks on an alarm). A publisher
    # that cannot reach RabbitMQ gives up after one quick retry.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "confirm_publish": True,
        "read_timeout": EVENTBUS["BROKER_TIMEOUT"],
        "write_timeout": EVENTBUS["BROKER_TIMEOUT"],
        "max_retries": 1,
        "interval_start": 0.2,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = EVENTBUS["BROKER_TIMEOUT"]
CELERY_TASK_QUEUES = routing.ConsumerQueues(CELERY_BROKER_URL, EVENTBUS["DELIVERY_LIMIT"])
CELERY_TASK_DEFAULT_QUEUE = routing.IDENTITY
CELERY_TASK_DEFAULT_EXCHANGE = routing.EXCHANGE.name
CELERY_TASK_DEFAULT_EXCHANGE_TYPE = routing.EXCHANGE.type
CELERY_TASK_DEFAULT_ROUTING_KEY = routing.IDENTITY
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ACKS_ON_FAILURE = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_LOST_WAIT = 2.0
# Celery's Django fixup closes every database connection before and after each task unless this is
# set, and then only every that many tasks: a new PostgreSQL connection per message was a fifth of
# a worker's time handling a sign-in's events. Between those, each task starts with Django's
# close_old_connections() (eventbus/signals.py), as a request does: CONN_MAX_AGE and the health
# checks decide.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Task modules besides the apps' `tasks` (which autodiscovery finds): a task sits beside the
# function it runs, and whoever starts it imports it from there.
CELERY_IMPORTS = (
    "audit.services.exports",
    "audit.services.retention",
    "identity.retention",
    "identity.services.passwords",
    "integration.services.resume",
    "notification.retention",
)
CELERY_BEAT_SCHEDULE = {
    "eventbus-drain-dead-letter-queues": {
        "task": "eventbus.drain_dead_letter_queues",
        "schedule": timedelta(seconds=30),
    },
    "eventbus-purge-history": {"task": "eventbus.purge_history", "schedule": timedelta(hours=24)},
    "eventbus-outbound-sweep": {"task": "eventbus.outbound.sweep", "schedule": timedelta(minutes=1)},
    "identity-expire-sessions": {"task": "identity.expire_sessions", "schedule": timedelta(minutes=1)},
    "identity-expire-grants": {"task": "identity.expire_grants", "schedule": timedelta(minutes=1)},
    "identity-compliance-check": {"task": "identity.compliance_check", "schedule": timedelta(hours=24)},
    "identity-unlock-lapsed-locks": {
        "task": "identity.unlock_lapsed_locks",
        "schedule": timedelta(minutes=1),
    },
    "identity-apply-retention": {"task": "identity.apply_retention", "schedule": timedelta(hours=24)},
}


# --- audit (issue 6: owned by the audit app) ------------------------------------------------
AUDIT = {
    # Days an entry is kept after it was recorded, per category (audit/taxonomy.py); a category
    # not named here is kept for ever.
    "RETENTION_DAYS": {
        "security": env.int("AUDIT_RETENTION_SECURITY_DAYS", default=400),
        "authentication": env.int("AUDIT_RETENTION_AUTHENTICATION_DAYS", default=180),
        "session": env.int("AUDIT_RETENTION_SESSION_DAYS", default=90),
        "token": env.int("AUDIT_RETENTION_TOKEN_DAYS", default=30),
        "account": env.int("AUDIT_RETENTION_ACCOUNT_DAYS", default=400),
        "access": env.int("AUDIT_RETENTION_ACCESS_DAYS", default=730),
        "audit": env.int("AUDIT_RETENTION_AUDIT_DAYS", default=730),
        "other": env.int("AUDIT_RETENTION_OTHER_DAYS", default=90),
    },
    # Rows removed per transaction: small, so retention never holds the table for long.
    "RETENTION_BATCH": env.int("AUDIT_RETENTION_BATCH", default=1000),
    "ARCHIVE_DIR": Path(env.str("AUDIT_ARCHIVE_DIR", default=str(VAR_DIR / "audit-archive"))),
    "EXPORT_DIR": Path(env.str("AUDIT_EXPORT_DIR", default=str(VAR_DIR / "audit-exports"))),
    # An export of more entries than this is written by a task (POST audit/exports answers 202);
    # up to this many, in the request (201).
    "EXPORT_INLINE_ROWS": env.int("AUDIT_EXPORT_INLINE_ROWS", default=10000),
}
CELERY_BEAT_SCHEDULE["audit-apply-retention"] = {
    "task": "audit.apply_retention",
    "schedule": timedelta(hours=24),
}

# --- notification (issue 7: owned by the notification app) ----------------------------------
NOTIFICATION = {
    # E-mails per recipient and category per hour before the rest is folded into a digest
    # (urgent rules are never folded: they exist to arrive at once).
    "RATE_LIMIT_PER_HOUR": env.int("NOTIFICATION_RATE_LIMIT_PER_HOUR", default=5),
    "SEND_MAX_ATTEMPTS": env.int("NOTIFICATION_SEND_MAX_ATTEMPTS", default=6),
    "SEND_BACKOFF_FACTOR": env.float("NOTIFICATION_SEND_BACKOFF_FACTOR", default=2.0),
    "SEND_BACKOFF_MAX": env.float("NOTIFICATION_SEND_BACKOFF_MAX", default=300.0),
    "DIGEST_INTERVAL_SECONDS": env.int("NOTIFICATION_DIGEST_INTERVAL_SECONDS", default=900),
    # A hung SMTP server must not hold a worker (the urgent lane's above all): give up, retry later.
    "SMTP_TIMEOUT": env.float("NOTIFICATION_SMTP_TIMEOUT", default=10.0),
    # All of one attempt (connect, every answer): a server that trickles its answers is cut here.
    "SEND_DEADLINE": env.float("NOTIFICATION_SEND_DEADLINE", default=30.0),
    # Retention (notification/retention.py, daily): in-app notifications, "notified once" marks
    # (a mark removed lets the same thing notify again), and the rows that serialise decisions
    # (a gate is kept at least as long as the longest threshold window, which reads its last alert).
    "RETENTION_DAYS": {
        "notifications": env.int("NOTIFICATION_IN_APP_RETENTION_DAYS", default=90),
        "dedupe_marks": env.int("NOTIFICATION_DEDUPE_RETENTION_DAYS", default=365),
        "gates": env.int("NOTIFICATION_GATE_RETENTION_DAYS", default=7),
    },
    "RETENTION_BATCH": env.int("NOTIFICATION_RETENTION_BATCH", default=1000),
}
CELERY_BEAT_SCHEDULE["notification-send-digests"] = {
    "task": "notification.send_digests",
    "schedule": timedelta(seconds=NOTIFICATION["DIGEST_INTERVAL_SECONDS"]),
    "options": {"queue": routing.NOTIFICATION},
}
CELERY_BEAT_SCHEDULE["notification-apply-retention"] = {
    "task": "notification.apply_retention",
    "schedule": timedelta(hours=24),
    "options": {"queue": routing.NOTIFICATION},
}
CELERY_BEAT_SCHEDULE["notification-purge-threshold-hits"] = {
    "task": "notification.purge_threshold_hits",
    "schedule": timedelta(hours=1),
    "options": {"queue": routing.NOTIFICATION},
}

# --- integration (issue 8: owned by the integration app) ------------------------------------
# Webhook targets on loopback, private, link-local or reserved addresses (IPv4 inside IPv6 forms
# included) are refused unless this allows them. Off unless set, DEBUG or not: `make run`, the demo
# and the tests set it for their receivers on loopback.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
# Per network operation of an attempt: connecting, each read, each write.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
# The whole attempt (connect, TLS, request, answer) ends by this many seconds, however slowly the
# receiver trickles its answer; the resolver's lookup counts, but cannot be cut short. A claimed
# delivery's lease is this deadline and 30 s more (eventbus/outbound/channel.py, LEASE_MARGIN):
# an attempt is over when its lease ends, so a slow attempt and its resend are never in flight
# together.
WEBHOOK_ATTEMPT_DEADLINE = env.float("WEBHOOK_ATTEMPT_DEADLINE", default=25.0)
# A CA bundle (a PEM file) to verify receivers' certificates with instead of certifi's, for
# receivers whose certificates a private CA signs.
WEBHOOK_CA_BUNDLE = env.str("WEBHOOK_CA_BUNDLE", default="")
# Failed attempts a delivery may make while its endpoint's circuit is closed; then it is failed
# and dead-lettered. Waiting behind an open circuit uses none of them.
WEBHOOK_MAX_RETRIES = env.int("WEBHOOK_MAX_RETRIES", default=8)
WEBHOOK_BACKOFF_FACTOR = env.float("WEBHOOK_BACKOFF_FACTOR", default=2.0)
WEBHOOK_BACKOFF_MAX = env.float("WEBHOOK_BACKOFF_MAX", default=300.0)
WEBHOOK_CIRCUIT_THRESHOLD = env.int("WEBHOOK_CIRCUIT_THRESHOLD", default=5)
WEBHOOK_CIRCUIT_COOLDOWN = env.float("WEBHOOK_CIRCUIT_COOLDOWN", default=60.0)
# An endpoint failing without one success for this long is disabled (and one alert logged).
WEBHOOK_DISABLE_AFTER_DAYS = env.float("WEBHOOK_DISABLE_AFTER_DAYS", default=5.0)
# After a rotation the old secret still signs (beside the new one) for this long.
WEBHOOK_SECRET_GRACE_HOURS = env.float("WEBHOOK_SECRET_GRACE_HOURS", default=24.0)
# The circuit breakers' state lives in the default cache (Redis in production, shared by all
# workers) unless this names a Redis of its own.
WEBHOOK_CIRCUIT_CACHE_URL = env.str("WEBHOOK_CIRCUIT_CACHE_URL", default="")
if WEBHOOK_CIRCUIT_CACHE_URL:
    CACHES["webhook_circuits"] = {
        "BACKEND": "identity_project.cache.SharedClientRedisCache",
        "LOCATION": WEBHOOK_CIRCUIT_CACHE_URL,
    }
WEBHOOK_CIRCUIT_CACHE = "webhook_circuits" if WEBHOOK_CIRCUIT_CACHE_URL else "default"
# Finished deliveries are kept this long: it is also how far back a replay can reach.
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)
WEBHOOK_SWEEP_INTERVAL = env.float("WEBHOOK_SWEEP_INTERVAL", default=60.0)
CELERY_BEAT_SCHEDULE["integration-sweep"] = {
    "task": "integration.sweep",
    "schedule": timedelta(seconds=WEBHOOK_SWEEP_INTERVAL),
    "options": {"queue": routing.INTEGRATION},
}
CELERY_BEAT_SCHEDULE["integration-purge-deliveries"] = {
    "task": "integration.purge_deliveries",
    "schedule": timedelta(hours=24),
    "options": {"queue": routing.INTEGRATION},
}
CELERY_BEAT_SCHEDULE["integration-siem-daily-summary"] = {
    "task": "integration.siem_daily_summary",
    "schedule": timedelta(hours=24),
    "options": {"queue": routing.INTEGRATION},
}

# --- metrics (GET /metrics, identity_project/scrape.py) -----------------------------------------
# Every process of this host writes its counters to its own file here and the scrape adds them
# up. The commands that start the processes (gunicorn's config, the Celery worker, the relay) make
# the folder, clear what an earlier run left and set prometheus_client up (multiproc.py); importing
# the settings does neither.
PROMETHEUS_MULTIPROC_DIR = Path(env.str("PROMETHEUS_MULTIPROC_DIR", default="") or VAR_DIR / "prometheus")
# Who may scrape: these networks (REMOTE_ADDR, never a forwarded header), or a request with
# "Authorization: Bearer <METRICS_TOKEN>" when a token is set. A reverse proxy on the same host
# must not pass /metrics through, or must be left out of these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = [
    ipaddress.ip_network(network, strict=False)
    for network in env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
]

# --- logging ------------------------------------------------------------------------------
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
            "foreign_pre_chain": [
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.processors.TimeStamper(fmt="iso"),
            ],
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
