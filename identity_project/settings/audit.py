"""Audit's own settings (AUDIT): retention per category, the archive and exports."""

from pathlib import Path

from identity_project.settings.environment import VAR_DIR, env

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
