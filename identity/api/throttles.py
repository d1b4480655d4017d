"""Throttles of the sign-in, token refresh and re-authentication endpoints: per client address and
per account (429 with Retry-After)."""

import hashlib

from rest_framework.throttling import SimpleRateThrottle

from identity.network import client_ip
from identity_project import cache as counters


class CountingThrottle(SimpleRateThrottle):
    """A rate counted in fixed windows, by one atomic increment per request in the shared cache
    (identity_project.cache.count: one Redis round trip).

    DRF's SimpleRateThrottle keeps a list of timestamps per key, read and written whole (thousands
    at a high rate): requests that arrive at once all read the same list, all pass, and each
    writes it back with itself alone, so a burst sent in parallel got through whole and was
    hardly counted. Every attempt counts here, a refused one too. A window's end is its
    Retry-After; across a window's end a client may send up to twice the rate in a short time,
    the price of one counter per window (an account's lockout still counts every failure)."""

    def allow_request(self, request, view):
        key = self.get_cache_key(request, view)
        if self.rate is None or key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        # Made by the window's first request to live a window's length: never read after its window.
        counted = counters.count(self.cache, f"{key}:{window}", timeout=self.duration)
        return counted <= self.num_requests

    def wait(self):
        return self.window_ends - self.now


class AddressThrottle(CountingThrottle):
    """A rate per client address (identity.network.client_ip), in the subclass's scope."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


class AuthIpThrottle(AddressThrottle):
    scope = "auth_ip"


class AuthAccountThrottle(CountingThrottle):
    """Keyed by the e-mail tried, whether or not an account has it (no enumeration): an API body's
    `email`, or the admin site's login form's `username`; a passkey sign-in names its account by
    the credential's id instead (`credential.rawId`), known or not."""

    scope = "auth_account"

    def get_cache_key(self, request, view):
        body = request.data if hasattr(request, "data") else {"email": request.POST.get("username")}
        account = _account_tried(body) if hasattr(body, "get") else None
        if not account:
            return None
        ident = hashlib.sha256(account.encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _account_tried(body) -> str | None:
    email = body.get("email")
    if isinstance(email, str) and email:
        return email.strip().lower()
    credential = body.get("credential")
    raw_id = credential.get("rawId") if isinstance(credential, dict) else None
    return f"passkey:{raw_id}" if isinstance(raw_id, str) and raw_id else None


AUTH_THROTTLES = [AuthIpThrottle, AuthAccountThrottle]


class ReauthAccountThrottle(CountingThrottle):
    """Proofs asked of a signed-in account (a re-authentication, the current password of a
    change): a stolen token guesses slowly, before lockout even counts."""

    scope = "reauth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": f"user-{request.user.pk}"}


class ReauthIpThrottle(ReauthAccountThrottle):
    """The same rate per client address: many stolen tokens used from one place."""

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": f"ip-{client_ip(request)}"}


REAUTH_THROTTLES = [ReauthIpThrottle, ReauthAccountThrottle]


class RefreshIpThrottle(AddressThrottle):
    """Token refreshes per client address, apart from the sign-ins' budget: a refresh proves a
    signed, rotating token, so this rate guards against floods, not guesses, and it is generous
    (many users behind one address refresh every few minutes)."""

    scope = "token_refresh"
