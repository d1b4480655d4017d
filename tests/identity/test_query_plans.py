"""The sweeps and the sign-in's lookups read indexes, on tables large enough for the planner to
prefer a scan otherwise (PostgreSQL's plans, after ANALYZE, as audit's search tests do)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from identity import retention
from identity.models import AuthSession, IPRule, LoginAttempt, MFAChallenge, RefreshToken, User
from identity.services.ip_rules import address_refused
from identity.services.lockout import locks_lapsed
from identity.services.risk import factors_of
from identity.services.sessions import sessions_due

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's"),
]

ROWS = 20000
DAY = dt.timedelta(days=1)


def _analyze(*models) -> None:
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def _users(count: int, *, locked_every: int = 0) -> list[User]:
    now = timezone.now()
    return User.objects.bulk_create(
        User(
            email=f"user-{i}@example.com",
            password="!",  # unusable: no hash to compute
            locked_at=now - DAY if locked_every and i % locked_every == 0 else None,
            locked_until=now - dt.timedelta(minutes=1) if locked_every and i % locked_every == 0 else None,
        )
        for i in range(count)
    )


def _session(user: User, now, i: int) -> AuthSession:
    """Most sessions ended, up to 200 days ago; a quarter are open and seen within the last
    hours, a few of them idle too long or past their end: what a platform running for months holds."""
    if i % 4:
        ago = (i % 200) * DAY
        return AuthSession(
            user=user, status=AuthSession.Status.ENDED, created_at=now - ago, last_seen_at=now - ago,
            expires_at=now - ago + dt.timedelta(hours=12), ended_at=now - ago,
        )  # fmt: skip
    seen = now - dt.timedelta(hours=3 if i % 1000 == 0 else 0, minutes=i % 100)
    ends = now + (-dt.timedelta(minutes=1) if i % 1000 == 4 else dt.timedelta(hours=10))
    return AuthSession(user=user, created_at=seen, last_seen_at=seen, expires_at=ends)


def _sessions(users: list[User], now) -> list[AuthSession]:
    return AuthSession.objects.bulk_create(_session(users[i % len(users)], now, i) for i in range(ROWS))


def _plan(queryset) -> str:
    return queryset.explain()


def _assert_indexed(plan: str, *indexes: str) -> None:
    assert "Seq Scan" not in plan, plan
    for index in indexes:
        assert index in plan, plan


def _plans_of(call) -> list[str]:
    """Run `call` and EXPLAIN every SELECT it made, as it was sent."""
    with CaptureQueriesContext(connection) as captured:
        call()
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            if query["sql"].lstrip().upper().startswith("SELECT"):
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert plans
    return plans


def test_the_session_expiry_sweep_reads_only_open_sessions_through_their_indexes():
    now = timezone.now()
    _sessions(_users(500), now)
    _analyze(AuthSession)

    past_end, idle = sessions_due(now, 500)

    _assert_indexed(_plan(past_end), "session_open_expiry_idx")
    _assert_indexed(_plan(idle), "session_open_idle_idx")
    assert len({*past_end, *idle}) == 40  # twenty idle, twenty past their end


def test_the_lapsed_lock_sweep_reads_the_locked_users_only():
    _users(ROWS, locked_every=500)
    _analyze(User)

    plan = _plan(locks_lapsed(timezone.now()).values_list("pk", flat=True)[:1000])

    _assert_indexed(plan, "user_lapsing_lock_idx")


def test_each_retention_query_reads_its_index():
    now = timezone.now()
    # Enough users that the lookup of the locked ones reads its partial index, whatever the
    # statistics earlier tests left: with a few hundred the planner may scan them all.
    users = _users(5000, locked_every=1000)
    sessions = _sessions(users, now)
    LoginAttempt.objects.bulk_create(
        LoginAttempt(
            user=users[i % len(users)] if i % 3 else None, email=f"user-{i % 700}@example.com",
            ip_address=f"10.{i % 250}.{i % 7}.{i % 200}", succeeded=i % 4 == 0,
            reason="" if i % 4 == 0 else "bad_password", at=now - (i % 120) * DAY,
        )
        for i in range(ROWS)
    )  # fmt: skip
    RefreshToken.objects.bulk_create(
        RefreshToken(
            jti=uuid.uuid4().hex, session=sessions[i], family_id=sessions[i].family_id,
            issued_at=now - (i % 30) * DAY, expires_at=now - (i % 30) * DAY + dt.timedelta(hours=8),
        )
        for i in range(ROWS)
    )  # fmt: skip
    MFAChallenge.objects.bulk_create(
        MFAChallenge(
            user=sessions[i].user, session=sessions[i], correlation_id="c",
            created_at=now - (i % 100) * DAY, expires_at=now - (i % 100) * DAY + dt.timedelta(minutes=5),
        )
        for i in range(0, ROWS, 2)
    )  # fmt: skip
    _analyze(User, AuthSession, LoginAttempt, RefreshToken, MFAChallenge)
    expected = {
        "login_attempts": "attempt_at_idx",
        "sessions": "session_ended_idx",
        "refresh_tokens": "refresh_expiry_idx",
        "mfa_challenges": "mfa_challenge_created_idx",
    }

    # a later day, when most rows are still young enough to stay: each batch reads its few
    later = now + 25 * DAY
    plans = {
        name: _plan(qs.values_list("pk", flat=True)[:1000]) for name, qs in retention.expired(later).items()
    }

    for name, index in expected.items():
        _assert_indexed(plans[name], index)


def _ip_rules(users: list[User], now) -> None:
    """The stuffing guard's automatic blocks, one per attacking address, and a few of each kind."""
    rules = [
        IPRule(
            cidr=f"10.{i // 250 % 250}.{i % 250}.{i // 62500 + 1}/32", list=IPRule.List.BLOCK, automatic=True,
            expires_at=now + dt.timedelta(hours=1),
        )
        for i in range(ROWS)
    ]  # fmt: skip
    rules += [IPRule(cidr=f"192.0.{i}.0/24", list=IPRule.List.ALLOW) for i in range(20)]
    rules += [
        IPRule(cidr=f"198.51.{i}.0/24", list=IPRule.List.BLOCK, scope=IPRule.Scope.USER, user=users[i])
        for i in range(len(users))
    ]
    rules += [IPRule(cidr="203.0.113.0/24", list=IPRule.List.ALLOW, scope=IPRule.Scope.USER, user=users[0])]
    IPRule.objects.bulk_create(rules)
    _analyze(IPRule)


def test_a_refused_address_is_one_indexed_query_for_the_rules_that_contain_it():
    now = timezone.now()
    users = _users(200)
    _ip_rules(users, now)

    plans = {
        "blocked, anonymous": _plans_of(lambda: address_refused(ip_address="10.0.7.1", user=None)),
        "blocked, a user": _plans_of(lambda: address_refused(ip_address="10.0.7.1", user=users[5])),
        "own allow list": _plans_of(lambda: address_refused(ip_address="203.0.113.4", user=users[0])),
    }

    for name, found in plans.items():
        assert len(found) == 1, (name, found)
        _assert_indexed(found[0], "ip_rule_network_gist_idx")


def test_the_rules_still_decide_as_documented_among_many():
    now = timezone.now()
    users = _users(200)
    _ip_rules(users, now)

    assert address_refused(ip_address="10.0.7.1", user=None) is True  # an automatic block
    assert address_refused(ip_address="10.0.7.1", user=users[5]) is True
    assert address_refused(ip_address="192.0.3.9", user=users[5]) is False  # a global allow
    assert address_refused(ip_address="198.51.5.1", user=users[5]) is True  # the user's own block
    assert address_refused(ip_address="198.51.5.1", user=users[6]) is False  # another's block
    assert address_refused(ip_address="203.0.113.4", user=users[0]) is False  # inside the own allow list
    assert address_refused(ip_address="192.0.3.9", user=users[0]) is True  # outside it, global allow or not
    assert address_refused(ip_address="2001:db8::1", user=None) is False  # no IPv6 rule


def test_risk_scoring_reads_a_bounded_recent_history_through_indexes():
    now = timezone.now()
    users = _users(50)
    alice = users[0]
    LoginAttempt.objects.bulk_create(
        LoginAttempt(
            user=users[i % 50], email=users[i % 50].email, ip_address=f"10.{i % 250}.{i % 7}.{i % 200}",
            succeeded=i % 3 == 0, reason="" if i % 3 == 0 else "bad_password", at=now - (i % 365) * DAY,
        )
        for i in range(ROWS)
    )  # fmt: skip
    _sessions(users, now)
    _ip_rules(users, now)
    _analyze(LoginAttempt, AuthSession)

    plans = _plans_of(lambda: factors_of(user=alice, ip_address="10.3.3.3", device_is_new=True))

    assert any("attempt_user_success_idx" in plan and "Limit" in plan for plan in plans), plans
    for plan in plans:
        assert "Seq Scan" not in plan, plan
