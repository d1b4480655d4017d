"""Lockout: growing locks, an admin-only lock at the end, and no denial of service or enumeration."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from identity.errors import AccountLocked, InvalidCredentials
from identity.models import LoginAttempt, User
from identity.services import lockout
from identity.services.login import login as login_service
from tests.factories import UserFactory
from tests.identity.support import api, login, mark, published_since, types_since

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
HOME = "198.51.100.10"


def fail(email: str, times: int, ip: str = ATTACKER) -> list[int]:
    return [login(api(ip), email, "wrong-password").status_code for _ in range(times)]


def test_five_failures_lock_the_account_and_a_locked_login_does_not_reveal_the_password(alice):
    since = mark()

    statuses = fail(alice.email, 5)

    assert statuses == [401] * 5
    locked = [e for e in published_since(since) if e.type == "user.locked"]
    assert len(locked) == 1
    assert locked[0].data["reason"] == "too_many_failures"
    right, wrong = login(api(ATTACKER), alice.email), login(api(ATTACKER), alice.email, "wrong-password")
    assert (right.status_code, wrong.status_code) == (423, 423)
    assert right.json() == wrong.json()
    assert right.json()["error"]["code"] == "account_locked"


def test_each_lock_lasts_longer_and_the_last_lasts_until_an_admin_unlocks(alice, settings):
    # (through the service: the API's per-account throttle would stop this many attempts first)
    durations = []
    for _ in range(settings.IDENTITY["LOCKOUT_MAX_TEMPORARY_LOCKS"] + 1):
        for _ in range(settings.IDENTITY["LOCKOUT_THRESHOLD"]):
            with contextlib.suppress(InvalidCredentials, AccountLocked):
                login_service(email=alice.email, password="wrong", ip_address=ATTACKER, user_agent="x")
        alice.refresh_from_db()
        durations.append(
            None if alice.locked_until is None else (alice.locked_until - alice.locked_at).seconds
        )
        # let this lock lapse and its failures leave the window
        an_hour_ago = timezone.now() - timedelta(hours=1)
        LoginAttempt.objects.update(at=an_hour_ago)
        User.objects.filter(pk=alice.pk, locked_until__isnull=False).update(locked_until=an_hour_ago)

    assert durations == [60, 120, 240, 480, 960, None]


def test_a_lapsed_lock_ends_at_the_next_attempt_with_user_unlocked(alice):
    fail(alice.email, 5)
    User.objects.filter(pk=alice.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    since = mark()

    response = login(api(ATTACKER), alice.email)

    assert response.status_code == 200
    assert types_since(since)[0] == "user.unlocked"
    assert published_since(since)[0].data["reason"] == "expired"


def test_failures_from_elsewhere_do_not_lock_out_an_address_with_a_recent_success(alice):
    # given alice signed in from home before
    assert login(api(HOME), alice.email).status_code == 200

    # when an attacker fails ten times from elsewhere
    fail(alice.email, 10)

    # then the attacker is locked out, and alice at home is not
    assert login(api(ATTACKER), alice.email).status_code == 423
    assert login(api(HOME), alice.email).status_code == 200


def test_failures_from_the_known_address_itself_still_count(alice):
    assert login(api(HOME), alice.email).status_code == 200

    fail(alice.email, 5, ip=HOME)

    assert login(api(HOME), alice.email).status_code == 423


def test_an_unknown_email_locks_like_a_real_one_so_423_reveals_nothing():
    statuses = fail("nobody@example.com", 6)

    assert statuses == [401] * 5 + [423]


def test_unknown_email_and_wrong_password_give_the_same_answer(alice):
    since = mark()

    unknown = login(api(), "nobody@example.com", "whatever-password")
    wrong = login(api(), alice.email, "whatever-password")

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    reasons = [e.data["reason"] for e in published_since(since)]
    assert reasons == ["unknown_user", "bad_password"]


def test_an_inactive_account_answers_like_a_wrong_password(alice):
    from identity.services.accounts import user_deactivate

    user_deactivate(user=alice, reason="test")

    response = login(api(), alice.email)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_an_admin_lock_ends_sessions_and_only_an_admin_unlock_lifts_it(alice, admin_user):
    from rest_framework.test import APIClient

    from tests.identity.support import bearer

    tokens = login(api(HOME), alice.email).json()
    operator = APIClient()
    operator.force_authenticate(admin_user)
    since = mark()

    locked = operator.post(f"/api/v1/admin/users/{alice.id}/lock")

    assert locked.status_code == 200
    assert locked.json()["locked"] is True
    assert types_since(since) == ["user.locked", "token_family.revoked", "session.invalidated"]
    assert published_since(since)[2].data["reason"] == "user_locked"
    assert bearer(tokens["access"]).get("/api/v1/me").status_code == 401
    assert login(api(HOME), alice.email).status_code == 423
    assert operator.post(f"/api/v1/admin/users/{alice.id}/unlock").status_code == 200
    assert login(api(HOME), alice.email).status_code == 200


def lapse(user: User) -> None:
    """A failure lock that ran out a second ago."""
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(
        locked_at=now - timedelta(hours=1), locked_until=now - timedelta(seconds=1),
        lock_reason="too_many_failures", lock_count=1,
    )  # fmt: skip


class Locker(threading.Thread):
    """An admin locking the user on a connection of its own, holding the row until told to commit."""

    def __init__(self, user_id) -> None:
        super().__init__(daemon=True)
        self.user_id = user_id
        self.holding = threading.Event()
        self.commit = threading.Event()

    def run(self) -> None:
        try:
            with transaction.atomic():
                lockout.user_lock(user=User.objects.get(pk=self.user_id), reason="admin")
                self.holding.set()
                self.commit.wait(timeout=5)
        finally:
            connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_the_sweep_keeps_a_lock_set_while_it_runs(alice):
    # given a lapsed lock, and an admin locking alice again, not committed yet
    lapse(alice)
    locker = Locker(alice.pk)
    locker.start()
    assert locker.holding.wait(timeout=30)
    since = mark()

    # when the sweep runs meanwhile, and again once the admin's lock is committed
    during = lockout.users_unlock_lapsed()
    locker.commit.set()
    locker.join(timeout=30)
    after = lockout.users_unlock_lapsed()

    # then the admin's lock stands, and nothing was unlocked
    user = User.objects.get(pk=alice.pk)
    assert (during, after) == (0, 0)
    assert (user.lock_reason, user.locked_until, user.locked_at is not None) == ("admin", None, True)
    assert "user.unlocked" not in types_since(since)


@pytest.fixture
def unlocked_events_refused():
    """The outbox refuses UserUnlocked, as a failing write of the event would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_unlocked() RETURNS trigger AS $$ BEGIN "
            "IF NEW.type = 'identity.user.unlocked' THEN RAISE EXCEPTION 'outbox refused'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            "CREATE TRIGGER refuse_unlocked BEFORE INSERT ON eventbus_outboxevent "
            "FOR EACH ROW EXECUTE FUNCTION refuse_unlocked()"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse_unlocked ON eventbus_outboxevent")
        cursor.execute("DROP FUNCTION refuse_unlocked()")


@pytest.mark.django_db(transaction=True)
def test_the_sweep_unlocks_only_with_its_event(alice, unlocked_events_refused):
    lapse(alice)

    with pytest.raises(DatabaseError, match="outbox refused"):
        lockout.users_unlock_lapsed()

    assert User.objects.get(pk=alice.pk).locked_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_sweep_ends_lapsed_locks_with_user_unlocked_and_keeps_those_in_force(alice):
    lapse(alice)
    bob = UserFactory(email="bob@example.com")
    User.objects.filter(pk=bob.pk).update(
        locked_at=timezone.now(), locked_until=timezone.now() + timedelta(hours=1), lock_reason="suspicious"
    )
    since = mark()

    count = lockout.users_unlock_lapsed()

    assert count == 1
    assert User.objects.get(pk=alice.pk).locked_at is None
    assert User.objects.get(pk=bob.pk).locked_at is not None
    unlocked = [e for e in published_since(since) if e.type == "user.unlocked"]
    assert [(u.data["user_id"], u.data["reason"]) for u in unlocked] == [(str(alice.id), "expired")]
