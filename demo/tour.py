"""`make demo`: a scripted tour of the platform on the embedded defaults (SQLite, the filesystem
broker, mail to files), through the HTTP API of a real web process.

It starts web, worker and relay and a webhook receiver on loopback; an administrator registers
a webhook; Alice signs up, enrols TOTP and signs in with it, then someone trips the lockout on
her account; Bob signs in from a new network on a new device (a suspicious login). When the
pipeline has settled it prints the audit trail, the mails written and the webhook deliveries
those steps caused, and stops everything it started.
"""

from __future__ import annotations

import base64
import email
import os
import sys
import time
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
from django_otp.oath import TOTP

from demo.stage import Receiver, Stage, wait_until

PASSWORD = "correct horse battery staple"  # noqa: S105 - the demo users' password, printed anyway
ADMIN = "admin@example.com"
WEBHOOK_TYPES = [
    "identity.user.registered",
    "identity.user.logged_in",
    "identity.user.locked",
    "identity.suspicious_login.detected",
    "identity.security_alert.raised",
]

DETAIL_FIELDS = ("method", "reason", "ip_address", "risk_level", "risk_factors", "severity")


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class Api:
    """The platform's API as one caller sees it: its address (X-Forwarded-For), browser and token."""

    def __init__(self, web: str, *, address: str, agent: str = "demo-browser", token: str = "") -> None:
        headers = {"x-forwarded-for": address, "user-agent": agent}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self.client = httpx.Client(base_url=f"http://{web}/api/v1/", headers=headers, timeout=30)

    def post(self, path: str, body: dict | None = None, expect: int | tuple[int, ...] = 200) -> dict:
        answer = self.client.post(path, json=body or {})
        return self._checked(answer, expect)

    def get(self, path: str, **params) -> dict:
        return self._checked(self.client.get(path, params=params), 200)

    @staticmethod
    def _checked(answer: httpx.Response, expect: int | tuple[int, ...]) -> dict:
        wanted = expect if isinstance(expect, tuple) else (expect,)
        if answer.status_code not in wanted:
            raise RuntimeError(
                f"{answer.request.method} {answer.request.url}: {answer.status_code} {answer.text}"
            )
        return {"status": answer.status_code, **(answer.json() if answer.content else {})}


def totp_code(otpauth_uri: str, *, at: float) -> str:
    """The authenticator's code for the 30-second period holding the time `at`."""
    secret = parse_qs(urlparse(otpauth_uri).query)["secret"][0]
    totp = TOTP(base64.b32decode(secret + "=" * (-len(secret) % 8)))
    totp.time = at
    return f"{totp.token():06d}"


def sign_in(api: Api, who: str, device: str, password: str = PASSWORD) -> dict:
    return api.post("auth/login", {"email": who, "password": password, "device_fingerprint": device})


def tour(stage: Stage, receiver: Receiver, admin_password: str) -> dict:
    web = stage.web
    say("1. The administrator registers a webhook to a receiver on loopback")
    admin = sign_in(Api(web, address="10.0.0.2"), ADMIN, "admin-console", password=admin_password)
    admin_api = Api(web, address="10.0.0.2", token=admin["access"])
    hook = admin_api.post("integration/webhooks", {"url": receiver.url, "event_types": WEBHOOK_TYPES}, 201)
    receiver.secret = hook["secret"]
    say(f"   webhook {hook['id']} -> {receiver.url}, for {', '.join(WEBHOOK_TYPES)}")

    say("2. Alice signs up, enrols TOTP and signs in with her second factor")
    home = Api(web, address="203.0.113.10", agent="Firefox on Alice's laptop")
    alice = home.post("auth/register", {"email": "alice@example.com", "password": PASSWORD}, 201)
    first = sign_in(home, "alice@example.com", "alice-laptop")
    alice_api = Api(web, address="203.0.113.10", agent="Firefox on Alice's laptop", token=first["access"])
    device = alice_api.post("me/mfa/devices", {"method": "totp"}, 201)
    enrolled_at = time.time()
    enrolment = totp_code(device["otpauth_uri"], at=enrolled_at)
    alice_api.post(f"me/mfa/devices/{device['device_id']}/verify", {"code": enrolment})
    challenge = sign_in(home, "alice@example.com", "alice-laptop")
    method = challenge["methods"][0]
    home.post(
        "auth/mfa/select", {"challenge_id": challenge["challenge_id"], "device_id": method["device_id"]}
    )
    # A code is good once, so the sign-in takes the period after the enrolment's: counted from the
    # enrolment's period, not from now, since the server learnt the authenticator's drift from it
    # (a request that crossed a period's end leaves a drift of one, and now + 30 s would be beyond).
    code = totp_code(device["otpauth_uri"], at=enrolled_at + 30)
    signed_in = home.post("auth/mfa/verify", {"challenge_id": challenge["challenge_id"], "code": code})
    say(f"   registered {alice['user_id']}; challenge {challenge['challenge_id']} answered with a TOTP code")
    say(f"   signed in: session {signed_in['session_id']}")

    say("3. Someone guesses Alice's password until the account locks")
    guesser = Api(web, address="198.51.100.66", agent="curl/8.0")
    for attempt in range(1, 11):
        answer = guesser.post(
            "auth/login", {"email": "alice@example.com", "password": f"guess-{attempt}"}, (401, 423)
        )
        say(f"   wrong password #{attempt}: {answer['status']} {answer.get('error', {}).get('code', '')}")
        if answer["status"] == 423:
            break
    again = home.post("auth/login", {"email": "alice@example.com", "password": PASSWORD}, (200, 423))
    outcome = (
        "asked for her second factor" if again.get("mfa_required") else again.get("error", {}).get("code")
    )
    say(f"   Alice herself, from her own address: {again['status']}, {outcome}")
    say("   (an address with a recent success is spared a lock that failures from elsewhere caused)")
    say("4. Bob signs in at home, then from a network and a device never seen before")
    bob_home = Api(web, address="203.0.113.20", agent="Safari on Bob's desktop")
    bob = bob_home.post("auth/register", {"email": "bob@example.com", "password": PASSWORD}, 201)
    sign_in(bob_home, "bob@example.com", "bob-desktop")
    abroad = Api(web, address="192.0.2.99", agent="Chrome on an unknown tablet")
    suspicious = sign_in(abroad, "bob@example.com", "unknown-tablet")
    say(f"   from 192.0.2.99: {suspicious['status']} (new network and new device: a suspicious login)")
    return {
        "admin": admin_api,
        "webhook": hook["id"],
        "users": {admin["user_id"]: "admin", alice["user_id"]: "alice", bob["user_id"]: "bob"},
    }


def mails(folder: Path) -> list[email.message.EmailMessage]:
    """Oldest first. Django's file backend writes each message followed by a line of 79 dashes."""
    found = []
    for path in folder.glob("*.log"):
        for chunk in path.read_text(errors="replace").split("-" * 79):
            if chunk.strip():
                found.append(email.message_from_string(chunk.strip() + "\n", policy=default_policy))
    return sorted(found, key=lambda message: parsedate_to_datetime(message["Date"]))


def details(data: dict) -> str:
    """The few fields that tell what happened, for one line of the trail."""
    shown = {k: data[k] for k in DETAIL_FIELDS if data.get(k) not in (None, "", [])}
    return " ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in shown.items())


def audit_trail(api: Api) -> list[dict]:
    entries, params = [], {"page_size": 200}
    while True:
        page = api.get("audit/events", **params)
        entries.extend(page["results"])
        if not page.get("next"):
            return entries[::-1]
        params = dict(parse_qs(urlparse(page["next"]).query, keep_blank_values=True))
        params = {k: v[0] for k, v in params.items()}


def settle(stage: Stage, api: Api, receiver: Receiver) -> None:
    """Until the last step's traces are in and nothing more arrives for a few seconds."""
    wait_until(
        lambda: (
            {"identity.suspicious_login.detected", "identity.security_alert.raised"}
            <= {r.event_type for r in receiver.received}
        ),
        timeout=180,
        what="the suspicious login's webhooks",
    )
    seen: list[tuple] = []

    def quiet() -> bool:
        pipeline = api.get("ops/pipeline")
        handled = sum(c["processed_last_hour"] for c in pipeline["consumers"].values())
        seen.append(
            (
                pipeline["outbox"]["pending"],
                handled,
                len(receiver.received),
                len(mails(stage.var_dir / "mail")),
            )
        )
        return len(seen) > 6 and seen[-1][0] == 0 and len(set(seen[-6:])) == 1

    wait_until(lambda: time.sleep(0.5) or quiet(), timeout=180, what="a quiet pipeline")


def report(stage: Stage, receiver: Receiver, outcome: dict) -> None:
    api, users = outcome["admin"], outcome["users"]
    entries = audit_trail(api)
    say(f"\n== Audit trail: {len(entries)} entries, oldest first ==")
    for entry in entries:
        who = users.get(entry["user_id"] or "", entry["user_id"] or "-")
        say(f"{entry['occurred_at'][11:23]}  {entry['type']:<38} {who:<6} {details(entry['data'])}")
    written = mails(stage.var_dir / "mail")
    say(f"\n== Mails written: {len(written)} (in {stage.var_dir / 'mail'}) ==")
    for message in written:
        say(f"to {message['To']:<22} {message['Subject']}")
    deliveries = api.get(f"integration/webhooks/{outcome['webhook']}/deliveries", page_size=200)["results"]
    say(f"\n== Webhook deliveries: {len(deliveries)} ==")
    for delivery in sorted(deliveries, key=lambda d: d["id"]):
        tries = ", ".join(
            f"HTTP {a['status_code']} in {a['duration_ms']} ms" for a in delivery["attempts_made"]
        )
        say(f"{delivery['event_type']:<38} {delivery['status']:<10} {tries}")
    good = sum(r.signature_ok for r in receiver.received)
    say(f"The receiver got {len(receiver.received)} requests, {good} with a valid signature.")


def main() -> int:
    var_dir = Path(os.environ.get("VAR_DIR", "var/demo")).resolve()
    stage = Stage(var_dir)
    say(f"Demo on the embedded defaults in {var_dir}")
    stage.manage("migrate", "--noinput")
    created = stage.manage(
        "create_demo_admin", "--email", ADMIN, "--password-file", str(var_dir / "admin-password")
    )
    say(created.strip())
    receiver = Receiver()
    try:
        stage.start()
        say(f"web {stage.web}, worker and relay started; logs in {stage.logs}\n")
        outcome = tour(stage, receiver, admin_password=(var_dir / "admin-password").read_text().strip())
        say("\nWaiting for the pipeline to settle...")
        settle(stage, outcome["admin"], receiver)
        report(stage, receiver, outcome)
    finally:
        receiver.stop()
        stage.stop()
    say("\nAll processes stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
