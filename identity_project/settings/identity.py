"""Identity's own settings (IDENTITY), authentication and passwords, and the JWTs it issues."""

from datetime import timedelta

from identity_project.settings.core import SECRET_KEY
from identity_project.settings.environment import DEBUG, env

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
    # The second factor (identity/services/mfa_devices.py and mfa_challenges.py) and trusted browsers.
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
