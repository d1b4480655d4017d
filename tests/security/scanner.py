"""The secrets scan: what must never appear in an event envelope, a log line or a webhook body.

Patterns find the shapes of secrets (a JWT, a reset link or token, an otpauth URI, a one-time
code or backup-code list in JSON, a webhook signing secret); exact strings find the passwords
the tests use and the secrets the run made (tests/recording). A finding names the file, the line
and what was found, with the secret itself cut short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Every password the tests sign in, register, reset or guess with (tests/identity/support.py's
# PASSWORD and the literals of the tests).
PASSWORDS = (
    "Correct-Horse-Battery-9",
    "Another-Horse-Battery-8",
    "Brand-New-Secret-42",
    "Other-New-Secret-43",
    "An-Entirely-New-Secret-7",
    "Set-By-The-Admin-77",
    "Leaked-Password-1",
    "Spring2026!",
)

# A quote, or a quote escaped inside a JSON string (a body logged as a string, an envelope in a log).
_Q = r"""(?:\\?["'])"""

PATTERNS = {
    "a JWT": re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]*"),
    "a password-reset link": re.compile(r"reset-password\?token="),
    "a password-reset token": re.compile(r"\b[\w-]{2,}\.[0-9a-z]{6,}-[0-9a-f]{32}\b"),
    "a TOTP secret": re.compile(r"otpauth://|[?&]secret=[A-Z2-7]{16,}"),
    "a one-time code": re.compile(rf"{_Q}?(?:code|otp|totp){_Q}?\s*[:=]\s*{_Q}?\d{{6,8}}\b"),
    "backup codes": re.compile(rf"{_Q}codes{_Q}\s*:\s*\[\s*{_Q}[a-z2-7]{{8}}{_Q}"),
    "a webhook secret": re.compile(r"whsec_[A-Za-z0-9+/=]{16,}"),
}


@dataclass(frozen=True)
class Finding:
    file: Path
    line: int
    what: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what}: {self.excerpt}"


def _cut(secret: str) -> str:
    return secret[:6] + "…" if len(secret) > 6 else "…"


def _exact(secret: str) -> re.Pattern[str]:
    """Short secrets (six-digit codes) only as a whole number: not inside a timestamp's digits."""
    return re.compile(rf"(?<![\d.]){re.escape(secret)}(?!\d)")


def scan_lines(lines: Iterable[str], *, file: Path, secrets: Iterable[str] = ()) -> list[Finding]:
    exact = {secret: _exact(secret) for secret in (*PASSWORDS, *secrets) if secret}
    findings = []
    for number, line in enumerate(lines, start=1):
        for what, pattern in PATTERNS.items():
            if match := pattern.search(line):
                findings.append(Finding(file, number, what, _cut(match.group())))
        for secret, pattern in exact.items():
            if pattern.search(line):
                findings.append(Finding(file, number, "a known secret", _cut(secret)))
    return findings


def scan_records(record_dir: Path, kinds: Iterable[str]) -> tuple[list[Finding], int]:
    """Scan every recorded file of these kinds; returns the findings and the lines scanned."""
    secrets = set()
    for path in sorted((record_dir / "secrets").glob("*")):
        secrets.update(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    findings, scanned = [], 0
    for kind in kinds:
        for path in sorted((record_dir / kind).glob("*")):
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            scanned += len(lines)
            findings += scan_lines(lines, file=path, secrets=secrets)
    return findings, scanned
