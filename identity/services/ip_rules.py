"""IP allow and block lists, global or per user, and the automatic block of credential stuffing."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import ExpressionWrapper, Lookup, Q
from django.db.models.functions import Cast
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


class _Network(models.GenericIPAddressField):
    """The type a rule's CIDR text is cast to (`inet` on PostgreSQL), to ask which contain an address."""


@_Network.register_lookup
class _ContainsAddress(Lookup):
    """`network >>= address`: the GiST index on `cidr::inet` (migration 0007) answers it."""

    lookup_name = "contains_address"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} >>= {rhs}::inet", [*lhs_params, *rhs_params]


def _relevant_rules(ip, user: User | None, now: datetime) -> list[IPRule]:
    """The current rules that decide for this address and user: those whose range contains the
    address, and the user's own allow rules (an allow list of one's own refuses every address
    outside it, so its rules matter even when none matches). On PostgreSQL one query, the
    containment read from the GiST index; on SQLite the rules in scope, matched here."""
    scope = (Q(scope=IPRule.Scope.GLOBAL) | Q(user=user)) if user else Q(scope=IPRule.Scope.GLOBAL)
    current = IPRule.objects.filter(_current(now)).filter(scope)
    own_allow = Q(user=user, scope=IPRule.Scope.USER, list=IPRule.List.ALLOW) if user else Q(pk__in=[])
    if connection.vendor == "postgresql":
        network = Cast("cidr", _Network())
        contains = Q(network__contains_address=str(ip))
        return list(
            current.alias(network=network)
            .filter(contains | own_allow)
            .annotate(matches=ExpressionWrapper(contains, output_field=models.BooleanField()))
        )
    rules = list(current)
    for rule in rules:
        rule.matches = ip in rule.network()
    return [rule for rule in rules if rule.matches or _own_allow(rule)]


def _own_allow(rule: IPRule) -> bool:
    return rule.scope == IPRule.Scope.USER and rule.list == IPRule.List.ALLOW


def address_refused(*, ip_address: str, user: User | None, now=None) -> bool:
    """Precedence: the user's own rules, then the global ones. A user with an allow list of their
    own signs in only from its ranges (a global allow elsewhere does not widen it, a global block
    inside does not narrow it); else their own block refuses even where a global allow matches;
    else a global allow wins over a global block."""
    rules = _relevant_rules(ipaddress.ip_address(ip_address), user, now or timezone.now())

    def listed(where, kind) -> list[IPRule]:
        return [r for r in rules if r.scope == where and r.list == kind]

    own_allow = listed(IPRule.Scope.USER, IPRule.List.ALLOW)
    if own_allow:
        return not any(r.matches for r in own_allow)
    if any(r.matches for r in listed(IPRule.Scope.USER, IPRule.List.BLOCK)):
        return True
    # Only the global rules that contain the address are here.
    return not listed(IPRule.Scope.GLOBAL, IPRule.List.ALLOW) and bool(
        listed(IPRule.Scope.GLOBAL, IPRule.List.BLOCK)
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
