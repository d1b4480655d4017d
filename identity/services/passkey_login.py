"""Signing in with a passkey alone (no password): the same guards as a password sign-in.

`auth/passkey/options` opens a ceremony for a discoverable credential; `auth/passkey/login`
answers it. In order, as for a password: a refused address (403, before any signature is
looked at), the options (410 when spent or expired: a replay finds them spent), the lock (423,
the signature unchecked; an unknown credential is counted and locked like an unknown e-mail),
then the assertion: an unknown credential and one that does not verify (bad signature, origin
or RP id, no user presence or verification, a cloned counter) get the same 401, recorded as
UserLoginFailed (`unknown_user`, or `bad_password` for a known account: the contract's reasons,
where the passkey stands for the password) and counted like a wrong password. An inactive
account gets that 401 too. Then risk, the device and the session, as for a password
(login.accepted), with a SessionCreated of type `passkey` and a UserLoggedIn of method
`passkey`. Failures are committed first, then raised.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from identity.errors import AccountLocked, AddressRefused, InvalidCredentials
from identity.services import ip_rules, lockout, passkeys
from identity.services.login import Attempt, SignedIn, _Outcome, accepted, failed, password_failed


class PasskeyRefused(InvalidCredentials):
    """The one answer for an unknown credential, a bad assertion and an inactive account."""

    def __init__(self) -> None:
        super().__init__("The passkey was not accepted.")


def passkey_login(
    *,
    challenge_id,
    credential: dict,
    ip_address: str,
    user_agent: str,
    fingerprint: str | None = None,
    door: str = "api",
) -> SignedIn:
    outcome = _attempt(
        challenge_id=challenge_id, credential=credential, ip=ip_address, agent=user_agent,
        fingerprint=fingerprint, door=door,
    )  # fmt: skip
    if outcome.error is not None:
        raise outcome.error()
    return outcome.signed_in


@transaction.atomic
def _attempt(*, challenge_id, credential: dict, ip: str, agent: str, fingerprint, door: str) -> _Outcome:
    now = timezone.now()
    device = passkeys.credential_device(credential)
    user = device.user if device is not None else None
    attempt = Attempt(email=user.email if user else "", ip=ip, agent=agent, door=door)
    if ip_rules.address_refused(ip_address=ip, user=user, now=now):
        failed(attempt, user=user, reason="ip_blocked", now=now)
        ip_rules.refused_login_alert(ip_address=ip, user=user)
        return _Outcome(error=AddressRefused)
    ceremony = passkeys.ceremony_take(credential, purpose=passkeys.Purpose.SIGN_IN, pk=challenge_id)
    if ceremony is None:
        return _Outcome(error=passkeys.CeremonyGone)
    if user is None:
        # Counted and locked like an unknown e-mail, so a 423 never tells a registered passkey.
        tried = f"passkey:{credential.get('rawId')}"
        if lockout.unknown_email_locked(tried):
            failed(attempt, user=None, reason="locked", now=now)
            return _Outcome(error=AccountLocked)
        lockout.after_unknown_email_failure(tried)
        failed(attempt, user=None, reason="unknown_user", now=now)
        ip_rules.stuffing_guard(ip_address=ip, now=now)
        return _Outcome(error=PasskeyRefused)
    lockout.lapse_if_due(user, now)
    if lockout.lock_applies(user, ip, now):
        failed(attempt, user=user, reason="locked", now=now)
        return _Outcome(error=AccountLocked)
    if not passkeys.assertion_verify(
        credential, ceremony=ceremony, device=device, require_user_verification=True
    ):
        password_failed(attempt, user=user, now=now)
        return _Outcome(error=PasskeyRefused)
    if not user.is_active:
        failed(attempt, user=user, reason="inactive", now=now)
        return _Outcome(error=PasskeyRefused)
    return accepted(attempt, user=user, fingerprint=fingerprint, now=now, passkey=True)
