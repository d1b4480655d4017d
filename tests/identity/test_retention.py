"""Identity's retention: old rows go in small batches, what is still live stays, the admin shows the run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from identity.errors import TokenReused
from identity.models import AuthSession, LoginAttempt, MFAChallenge, RefreshToken, RetentionRun, User
from identity.retention import retention_apply
from identity.services.accounts import user_register
from identity.services.lockout import user_lock
from identity.services.sessions import session_end, session_refresh, session_start
from identity_project.celery import app
from tests.identity.support import PASSWORD
from tests.support.admin_site import admin_sign_in

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def small_batches(settings):
    settings.IDENTITY = {**settings.IDENTITY, "RETENTION_BATCH": 3}


def _attempts(count: int, *, at, user: User | None = None, email: str = "nobody@example.com") -> None:
    LoginAttempt.objects.bulk_create(
        LoginAttempt(
            user=user,
            email=user.email if user else email,
            ip_address="203.0.113.9",
            succeeded=False,
            reason="bad_password",
            at=at,
        )
        for _ in range(count)
    )


def _started(user: User) -> AuthSession:
    return session_start(user=user, ip_address="198.51.100.4", user_agent="pytest").session


def test_old_sign_in_attempts_go_in_batches_and_a_locked_users_evidence_stays(small_batches, alice):
    # given attempts of 100 days ago: unknown e-mails, Alice's, and those of Bob, who is locked
    now = timezone.now()
    bob = user_register(email="bob@example.com", password=PASSWORD)
    _attempts(6, at=now - 100 * DAY)
    _attempts(4, at=now - 100 * DAY, user=alice)
    _attempts(2, at=now - 100 * DAY, user=bob)
    user_lock(user=bob, reason="admin")
    _attempts(2, at=now - 10 * DAY, user=alice)

    # when retention runs (90 days)
    run = retention_apply(now=now)

    # then the ten old ones went, three per batch; Bob's lock keeps its evidence, recent ones stay
    assert run.status == RetentionRun.Status.SUCCEEDED, run.error
    assert run.outcome["login_attempts"] == {"removed": 10, "batches": 4}
    left = LoginAttempt.objects.all()
    assert sorted((a.email, a.at < now - 90 * DAY) for a in left) == [
        ("alice@example.com", False),
        ("alice@example.com", False),
        ("bob@example.com", True),
        ("bob@example.com", True),
    ]


def test_sign_in_attempts_are_kept_as_long_as_lockout_reads_them(settings):
    # given a one-day retention, shorter than the 30 days an address stays known
    settings.IDENTITY = {
        **settings.IDENTITY,
        "RETENTION_DAYS": {**settings.IDENTITY["RETENTION_DAYS"], "login_attempts": 1},
    }
    now = timezone.now()
    _attempts(1, at=now - 10 * DAY)
    _attempts(1, at=now - 31 * DAY)

    retention_apply(now=now)

    assert [a.at for a in LoginAttempt.objects.all()] == [now - 10 * DAY]


def test_refresh_tokens_go_once_expired_and_reuse_detection_still_catches_a_replay(small_batches, alice):
    # given a live session refreshed once (its first token used), and tokens that expired 8 days ago
    started = session_start(user=alice, ip_address="198.51.100.4", user_agent="pytest")
    first = started.tokens.refresh
    session_refresh(raw_refresh=first)
    session = started.session
    now = timezone.now()
    RefreshToken.objects.bulk_create(
        RefreshToken(
            jti=f"expired-{i}", session=session, family_id=session.family_id,
            issued_at=now - 9 * DAY, expires_at=now - 8 * DAY, used_at=now - 9 * DAY,
        )
        for i in range(4)
    )  # fmt: skip

    # when retention runs (7 days after expiry)
    run = retention_apply(now=now)

    # then the expired ones went; the family's used token still reveals a replay
    assert run.outcome["refresh_tokens"] == {"removed": 4, "batches": 2}
    assert RefreshToken.objects.filter(family_id=session.family_id).count() == 2
    with pytest.raises(TokenReused):
        session_refresh(raw_refresh=first)
    session.refresh_from_db()
    assert session.end_reason == "token_reuse"


def test_sessions_ended_long_ago_go_with_their_tokens_and_challenge_and_open_ones_stay(small_batches, alice):
    now = timezone.now()
    ended_long_ago = [_started(alice) for _ in range(4)]
    for session in ended_long_ago:
        MFAChallenge.objects.create(
            user=alice, session=session, correlation_id="c", expires_at=now - 100 * DAY
        )
        session_end(session=session, reason="logout")
    AuthSession.objects.filter(pk__in=[s.pk for s in ended_long_ago]).update(ended_at=now - 91 * DAY)
    ended_lately = _started(alice)
    session_end(session=ended_lately, reason="logout")
    open_and_old = _started(alice)
    AuthSession.objects.filter(pk=open_and_old.pk).update(created_at=now - 200 * DAY)

    run = retention_apply(now=now)

    assert run.outcome["sessions"] == {"removed": 4, "batches": 2}
    assert set(AuthSession.objects.values_list("pk", flat=True)) == {ended_lately.pk, open_and_old.pk}
    assert not RefreshToken.objects.filter(session__in=[s.pk for s in ended_long_ago]).exists()
    assert not MFAChallenge.objects.exists()
    assert RefreshToken.objects.filter(session=open_and_old).exists()


def test_challenges_go_once_old_and_expired_and_one_that_may_still_be_answered_stays(small_batches, alice):
    now = timezone.now()

    def challenge(created_at, expires_at, status=MFAChallenge.Status.COMPLETED) -> MFAChallenge:
        return MFAChallenge.objects.create(
            user=alice, session=_started(alice), status=status, correlation_id="c",
            created_at=created_at, expires_at=expires_at,
        )  # fmt: skip

    old = [challenge(now - 40 * DAY, now - 40 * DAY) for _ in range(5)]
    recent = challenge(now - DAY, now - DAY)
    answerable = challenge(now - 40 * DAY, now + dt.timedelta(minutes=5), MFAChallenge.Status.PENDING)

    run = retention_apply(now=now)

    assert run.outcome["mfa_challenges"] == {"removed": 5, "batches": 2}
    assert set(MFAChallenge.objects.values_list("pk", flat=True)) == {recent.pk, answerable.pk}
    assert not MFAChallenge.objects.filter(pk__in=[c.pk for c in old]).exists()


def test_the_admin_shows_the_last_run(client, small_batches):
    _attempts(4, at=timezone.now() - 100 * DAY)
    retention_apply()
    admin = User.objects.create_superuser("root@example.com", "an-admin-password")
    admin_sign_in(client, admin, "an-admin-password")

    page = client.get(reverse("admin:identity_retentionrun_changelist"))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Succeeded" in text
    assert "login_attempts" in text
    assert "&quot;removed&quot;: 4" in text or '"removed": 4' in text


def test_the_daily_task_is_scheduled_and_registered(settings):
    app.loader.import_default_modules()  # what a worker does at start

    schedule = settings.CELERY_BEAT_SCHEDULE["identity-apply-retention"]

    assert schedule["task"] in app.tasks
    assert schedule["schedule"] == dt.timedelta(hours=24)
