"""Outgoing mail: EMAIL_URL's server, or files under VAR_DIR."""

from identity_project.settings.environment import VAR_DIR, env

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
