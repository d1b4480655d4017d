"""Second factors: django-otp's devices, and passkeys (WebAuthn)."""

from identity_project.settings.environment import env

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
