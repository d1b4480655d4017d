"""IP allow and block lists, global or per user, and the automatic block of credential stuffing."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from identity.errors import IdentityError, NotFound
from identity.events import IPAllowlisted, IPBlocklisted, IPRuleRemoved
from identity.models import IPRule, LoginAttempt, User
from identity.services.alerts import security_alert_raise
from identity.services.sweeps import each_due
from identity_project.eventbus.publisher import publish


def _current(now: datetime):
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


@transaction.atomic
def ip_rule_add(
    *, cidr: str, list: str, scope: str = "global", user: User | None = None, expires_at=None,
    reason: str = "",
    automatic: bool = False,
) -> IPRule:  # fmt: skip
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise IdentityError("Not a CIDR.", code="validation_error", fields={"cidr": [str(exc)]}) from exc
    if (scope == "user") != (user is not None):
        raise IdentityError("A user rule names its user; a global one does not.", code="validation_error")
    rule = IPRule.objects.create(
        cidr=str(network),
        list=list,
        scope=scope,
        user=user,
        expires_at=expires_at,
        reason=reason,
        automatic=automatic,
    )
    event = IPAllowlisted if list == IPRule.List.ALLOW else IPBlocklisted
    publish(
        event(
            rule_id=rule.id, cidr=rule.cidr, scope=scope, user_id=user.id if user else None,
            expires_at=expires_at, reason=reason,
        )
    )  # fmt: skip
    return rule


@transaction.atomic
def ip_rule_remove(*, rule_id) -> None:
    rule = IPRule.objects.select_for_update().filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("No such IP rule.")
    _remove(rule)


def _remove(rule: IPRule) -> None:
    rule_id = rule.id  # delete() clears it
    rule.delete()
    publish(IPRuleRemoved(rule_id=rule_id, cidr=rule.cidr, list=rule.list))


def _matches(rules, ip) -> bool:
    return any(ip in rule.network() for rule in rules)


def address_refused(*, ip_address: str, user: User | None, now=None) -> bool:
    """Precedence: the user's own rules, then the global ones. A user with an allow list of their
    own signs in only from its ranges (a global allow elsewhere does not widen it, a global block
    inside does not narrow it); else their own block refuses even where a global allow matches;
    else a global allow wins over a global block."""
    now = now or timezone.now()
    ip = ipaddress.ip_address(ip_address)
    scope = (Q(scope=IPRule.Scope.GLOBAL) | Q(user=user)) if user else Q(scope=IPRule.Scope.GLOBAL)
    rules = list(IPRule.objects.filter(_current(now)).filter(scope))

    def listed(where, kind) -> list[IPRule]:
        return [r for r in rules if r.scope == where and r.list == kind]

    own_allow = listed(IPRule.Scope.USER, IPRule.List.ALLOW)
    if own_allow:
        return not _matches(own_allow, ip)
    if _matches(listed(IPRule.Scope.USER, IPRule.List.BLOCK), ip):
        return True
    return not _matches(listed(IPRule.Scope.GLOBAL, IPRule.List.ALLOW), ip) and _matches(
        listed(IPRule.Scope.GLOBAL, IPRule.List.BLOCK), ip
    )


def refused_login_alert(*, ip_address: str, user: User | None) -> None:
    security_alert_raise(
        incident=f"blocked-ip:{ip_address}",
        severity="medium",
        category="blocked_address",
        summary=f"Sign-in attempts from the blocked address {ip_address}.",
        user_id=user.id if user else None,
    )


def stuffing_guard(*, ip_address: str, now=None) -> bool:
    """Failures for many distinct accounts from one address: block it for a while (once)."""
    now = now or timezone.now()
    window = now - timedelta(seconds=settings.IDENTITY["LOCKOUT_WINDOW"])
    accounts = (
        LoginAttempt.objects.filter(ip_address=ip_address, succeeded=False, at__gte=window)
        .values("email")
        .distinct()
        .count()
    )
    if accounts < settings.IDENTITY["STUFFING_ACCOUNTS"]:
        return False
    if IPRule.objects.filter(_current(now), list=IPRule.List.BLOCK, cidr=_host_cidr(ip_address)).exists():
        return False
    ip_rule_add(
        cidr=ip_address,
        list=IPRule.List.BLOCK,
        expires_at=now + timedelta(seconds=settings.IDENTITY["STUFFING_BLOCK"]),
        reason=f"credential stuffing: failures for {accounts} accounts",
        automatic=True,
    )
    security_alert_raise(
        incident=f"stuffing:{ip_address}",
        severity="high",
        category="credential_stuffing",
        summary=f"{ip_address} failed to sign in to {accounts} accounts; it is blocked for a while.",
    )
    return True


def ip_rules_expire_due(*, now=None) -> int:
    """The periodic sweep: rules past their expiry go (IPRuleRemoved)."""
    return each_due(IPRule.objects.filter(expires_at__lte=now or timezone.now()), _remove)


def blocked_recently(*, ip_address: str, since: datetime) -> bool:
    """An automatic block of this address was made since `since` (a risk factor)."""
    return IPRule.objects.filter(
        list=IPRule.List.BLOCK, created_at__gte=since, cidr=_host_cidr(ip_address)
    ).exists()


def _host_cidr(ip_address: str) -> str:
    return str(ipaddress.ip_network(ip_address))
