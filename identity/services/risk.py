"""Risk of a sign-in, from explainable factors: a score, a level and the factors that made it.

| factor                    | weight | when                                                        |
|---------------------------|--------|-------------------------------------------------------------|
| new_device                |   20   | a device never seen for this user (users with history only) |
| new_network               |   20   | none of the latest 200 successes from this /24 (IPv6: /48)  |
| long_inactivity           |   15   | the last sign-in was more than 90 days ago                   |
| account_failure_velocity  |   25   | 3+ password failures for the account in the lockout window |
| address_failure_velocity  |   25   | 5+ failures from the address, any account, in the window   |
| recently_blocked_address  |   30   | the address was blocked within the last 24 hours            |
| recent_token_reuse        |   40   | a refresh token of the user was reused within 24 hours      |

Levels: low below RISK_MEDIUM (30), then medium, high (RISK_HIGH, 60), critical (RISK_CRITICAL, 90).
Medium or more publishes SuspiciousLoginDetected; high asks for the second factor even on a
trusted device; critical locks the account.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from identity.models import AuthSession, LoginAttempt, User
from identity.services.ip_rules import blocked_recently

# Factor names to weights; bandit takes the "token" key for a password.
WEIGHTS = {
    "new_device": 20,
    "new_network": 20,
    "long_inactivity": 15,
    "account_failure_velocity": 25,
    "address_failure_velocity": 25,
    "recently_blocked_address": 30,
    "recent_token_reuse": 40,  # nosec B105
}
INACTIVITY = timedelta(days=90)
ACCOUNT_FAILURES = 3
ADDRESS_FAILURES = 5
# How many of a user's latest successful sign-ins tell their usual networks and whether they have
# a history at all.
HISTORY = 200


@dataclass(frozen=True)
class Assessment:
    score: int
    level: str
    factors: list[str] = field(default_factory=list)


def level_of(score: int) -> str:
    config = settings.IDENTITY
    if score >= config["RISK_CRITICAL"]:
        return "critical"
    if score >= config["RISK_HIGH"]:
        return "high"
    if score >= config["RISK_MEDIUM"]:
        return "medium"
    return "low"


def score(factors: list[str]) -> Assessment:
    total = sum(WEIGHTS[f] for f in factors)
    return Assessment(score=total, level=level_of(total), factors=sorted(factors))


def _network(ip_address: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    ip = ipaddress.ip_address(ip_address)
    return ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False)


def factors_of(*, user: User, ip_address: str, device_is_new: bool, now=None) -> list[str]:
    """The factors present at this sign-in (the password was right)."""
    now = now or timezone.now()
    window = now - timedelta(seconds=settings.IDENTITY["LOCKOUT_WINDOW"])
    # The addresses of the latest earlier sign-ins (none: the first sign-in has no history to
    # differ from). The newest HISTORY successes walk the partial index of successes backwards, a
    # bounded read however long the user's history; a network last used further back is new again.
    seen = set(
        LoginAttempt.objects.filter(user=user, succeeded=True)
        .order_by("-at")
        .values_list("ip_address", flat=True)[:HISTORY]
    )
    found = []
    if seen and device_is_new:
        found.append("new_device")
    if seen and not any(ipaddress.ip_address(ip) in _network(ip_address) for ip in seen):
        found.append("new_network")
    if user.last_login and now - user.last_login > INACTIVITY:
        found.append("long_inactivity")
    # Both failure velocities in one statement.
    by_account = Q(user=user, reason="bad_password")
    by_address = Q(ip_address=ip_address)
    failures = LoginAttempt.objects.filter(
        by_account | by_address, succeeded=False, at__gte=window
    ).aggregate(account=Count("pk", filter=by_account), address=Count("pk", filter=by_address))
    if failures["account"] >= ACCOUNT_FAILURES:
        found.append("account_failure_velocity")
    if failures["address"] >= ADDRESS_FAILURES:
        found.append("address_failure_velocity")
    if blocked_recently(ip_address=ip_address, since=now - timedelta(hours=24)):
        found.append("recently_blocked_address")
    if AuthSession.objects.filter(
        user=user, end_reason="token_reuse", ended_at__gte=now - timedelta(hours=24)
    ).exists():
        found.append("recent_token_reuse")
    return found


def assess(*, user: User, ip_address: str, device_is_new: bool) -> Assessment:
    return score(factors_of(user=user, ip_address=ip_address, device_is_new=device_is_new))
