"""No secret in any event envelope, log line or webhook body the whole run produced.

Every process of the run records what it produced (tests/recording); the scan, ordered after
every other test (marker `last`), reads it all. The scanner's own tests plant secrets to show it
finds them.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.conf import settings

from identity.services.accounts import user_register
from identity.services.mfa_devices import mfa_device_create
from identity.services.passkey_enrolment import passkey_enrol_begin
from tests.identity.support import PASSWORD, api, login
from tests.recording.records import KINDS
from tests.security.scanner import scan_lines, scan_records
from tests.support.soft_authenticator import SoftAuthenticator

PLANTED = {
    "a JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSIsInNpZCI6IngifQ.c2lnbmF0dXJlLWJ5dGVz",
    "a password-reset link": "http://127.0.0.1:8000/reset-password?token=MTIz.c9xk2a-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "a password-reset token": "MDE4ZjE.c9xk2a-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "a TOTP secret": "otpauth://totp/Identity:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Identity",
    "a one-time code": '{"event": "mfa_check", "code": "492039"}',
    "backup codes": '{"codes": ["a2b3c4d5", "e6f7g2h3"]}',
    "a webhook secret": "whsec_c2VjcmV0LXNpZ25pbmcta2V5LWZvcg==",
    "a known secret": '{"event": "login", "password": "Correct-Horse-Battery-9"}',
}


@pytest.mark.parametrize(("what", "line"), PLANTED.items(), ids=list(PLANTED))
def test_the_scanner_finds_a_planted_secret(tmp_path, what, line):
    # as written, and as a string inside a JSON log line (its quotes escaped)
    lines = ["a harmless line", line, f'{{"event": "x", "detail": {json.dumps(line)}}}']

    findings = scan_lines(lines, file=tmp_path)

    assert {f.line for f in findings if f.what == what} == {2, 3}
    assert {f.line for f in findings} == {2, 3}
    assert not any(line[8:] in str(f) for f in findings), "a finding must not repeat the secret"


def test_the_scanner_finds_a_secret_the_run_made_but_not_digits_of_a_timestamp(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "1.jsonl").write_text("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n492039\n")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "1.jsonl").write_text(
        '{"timestamp": "2026-11-29T16:31:42.492039Z", "event": "fine"}\n'
        '{"event": "enrolled", "key": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}\n'
        '{"event": "sent", "detail": "your code is 492039"}\n'
    )

    findings, scanned = scan_records(tmp_path, ["logs"])

    assert scanned == 3
    assert [(f.line, f.what) for f in findings] == [(2, "a known secret"), (3, "a known secret")]


def test_the_harmless_lines_of_a_run_are_not_findings(tmp_path):
    lines = [
        '{"error": {"code": "validation_error", "message": "The request is not valid.", "fields": {}}}',
        '{"event": "Not Found: /api/v1/ops/dead-letters/987654/replay", "level": "warning"}',
        '{"type": "identity.token.issued", "data": {"jti": "0f1e2d3c4b5a69788796a5b4c3d2e1f0"}}',
        '{"timestamp": "2026-11-29T16:31:42.861299Z", "correlation_id": "9b2c8f0e4d3a41b7a1c2d3e4f5a6b7c8"}',
    ]

    assert scan_lines(lines, file=settings.BASE_DIR) == []


@pytest.mark.last
@pytest.mark.django_db
def test_nothing_the_run_produced_carries_a_secret():
    # given this test's own sign-in and MFA enrolment, to show the recording sees what happens
    user = user_register(email="scanned@example.com", password=PASSWORD)
    tokens = login(api(), user.email).json()
    enrolment = mfa_device_create(user=user, method="totp")
    passkey = SoftAuthenticator(origin="https://id.example.test").create(
        passkey_enrol_begin(user=user).options
    )
    records = settings.TEST_RECORD_DIR
    envelopes = "".join(p.read_text() for p in (records / "envelopes").glob("*"))
    assert str(user.id) in envelopes
    secrets = "".join(p.read_text() for p in (records / "secrets").glob("*"))
    totp_secret = enrolment.otpauth_uri.split("secret=")[1].split("&")[0]
    assert base64.b32decode(totp_secret + "=" * (-len(totp_secret) % 8)).hex() in secrets
    assert passkey["response"]["attestationObject"] in secrets
    assert tokens["access"] not in envelopes

    # when every record of the run is scanned
    findings, scanned = scan_records(records, KINDS)

    # then nothing is found
    assert scanned > 0
    assert findings == [], "\n".join(str(f) for f in findings[:20])
