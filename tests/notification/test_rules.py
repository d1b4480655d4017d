"""Rules applied by the consumer's handlers in the database (no broker): who gets what, how often."""

from __future__ import annotations

import datetime as dt
import smtplib
import uuid

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from identity.events import (
    DeviceRegistered,
    MFAChallengeFailed,
    PasswordChanged,
    PermissionElevationRequested,
    SuspiciousLoginDetected,
    TokenFamilyRevoked,
)
from identity.models import User
from identity_project.eventbus import deadletters, routing
from identity_project.eventbus.models import DeadLetter, OutboxTask
from identity_project.eventbus.outbound import resend, sender
from identity_project.eventbus.publisher import publish
from notification import digests, preferences, rendering
from notification.consumer import notification
from notification.models import Delivery, Notification, NotificationRule, Preference
from tests.conftest import purge_queues
from tests.factories import UserFactory
from tests.support.admin_site import admin_sign_in
from tests.support.queues import take_queued_args

pytestmark = pytest.mark.django_db

# The events marked N in ../shared/EVENTS.md.
N_EVENTS = {
    "identity.user.registered",
    "identity.user.logged_in",
    "identity.suspicious_login.detected",
    "identity.user.locked",
    "identity.user.deactivated",
    "identity.password.changed",
    "identity.password.reset_requested",
    "identity.token_family.revoked",
    "identity.mfa_challenge.failed",
    "identity.mfa_device.created",
    "identity.mfa_device.disabled",
    "identity.mfa_backup_codes.generated",
    "identity.device.registered",
    "identity.device.revoked",
    "identity.role.assigned_to_user",
    "identity.role.revoked_from_user",
    "identity.permission_elevation.requested",
    "identity.permission_elevation.approved",
    "identity.permission_elevation.denied",
    "identity.security_alert.raised",
    "identity.compliance_violation.detected",
}
URGENT = {
    "identity.suspicious_login.detected",
    "identity.security_alert.raised",
    "identity.token_family.revoked",
    "identity.user.locked",
}


@pytest.fixture
def user() -> User:
    return UserFactory(email="pat@example.com", full_name="Pat")


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Publish events and hand them to the notification consumer as a worker would, running
    the after-commit sends (to Django's test outbox)."""

    def run(*events) -> list[dict]:
        envelopes = [publish(event) for event in events]
        with django_capture_on_commit_callbacks(execute=True):
            for envelope in envelopes:
                assert notification.process([envelope], 0) == []
        return envelopes

    return run


def emails(user: User, status: str | None = None):
    rows = Delivery.objects.filter(recipient_id=user.pk, channel="email").exclude(
        event_type="identity.user.registered"
    )
    return rows.filter(status=status) if status else rows


def test_every_n_event_has_a_default_rule_and_a_handler_and_urgent_ones_take_the_urgent_lane():
    rules = set(NotificationRule.objects.filter(is_active=True).values_list("event_type", flat=True))

    assert rules == N_EVENTS
    assert notification.subscriptions() == N_EVENTS
    assert notification.urgent_types == URGENT
    routes = notification.route([{"type": t} for t in sorted(N_EVENTS)])
    assert {q: {e["type"] for e in group} for q, group in routes} == {
        routing.NOTIFICATION: N_EVENTS - URGENT,
        routing.NOTIFICATION_URGENT: URGENT,
    }


def test_every_rule_renders_its_template_in_text_and_html():
    for rule in NotificationRule.objects.all():
        message = rendering.render(rule.template, {"data": {}, "count": 3, "window_minutes": 10})

        assert message.subject, rule.key
        assert message.text, rule.key
        assert message.html.startswith("<!doctype html>"), rule.key


def test_a_suspicious_login_mails_the_user_and_lists_it_in_app(user, deliver):
    deliver(
        SuspiciousLoginDetected(
            user_id=user.pk, ip_address="203.0.113.9", risk_level="high", risk_factors=["new_country"]
        )
    )

    [message] = [m for m in mail.outbox if "Suspicious" in m.subject]
    assert message.to == ["pat@example.com"]
    assert "203.0.113.9" in message.body
    assert "high" in message.body
    assert "Hello Pat" in message.alternatives[0][0]
    assert Notification.objects.get(user_id=user.pk).title == "Suspicious sign-in to your account"
    assert emails(user, "sent").count() == 1


def test_three_failed_mfa_challenges_make_one_alert_and_the_rest_of_the_window_a_digest(
    user, deliver, django_capture_on_commit_callbacks
):
    challenge = uuid.uuid4()
    failures = [
        MFAChallengeFailed(
            challenge_id=challenge,
            user_id=user.pk,
            session_id=uuid.uuid4(),
            attempts=i,
            reason="invalid_code",
        )
        for i in range(1, 11)
    ]

    deliver(*failures)

    alerts = [m for m in mail.outbox if "Failed MFA" in m.subject]
    assert len(alerts) == 1
    assert "3 MFA challenges on your account failed within 10 minutes" in alerts[0].body
    assert emails(user, "folded").count() == 7
    assert (
        Notification.objects.filter(user_id=user.pk, event_type="identity.mfa_challenge.failed").count() == 1
    )

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with_digest = digests.digests_send()

    assert with_digest == 1
    [digest] = mail.outbox
    assert digest.to == ["pat@example.com"]
    assert digest.subject == "Digest: 7 notifications you did not get one by one"
    assert "7 x Failed MFA challenges on your account" in digest.body
    assert emails(user, "digested").count() == 7
    assert digests.digests_send() == 0


def test_one_new_device_mail_per_device(user, deliver):
    device, other = uuid.uuid4(), uuid.uuid4()

    def registered(device_id):
        return DeviceRegistered(
            device_id=device_id, user_id=user.pk, fingerprint_hash="h", trusted=False, user_agent="Firefox"
        )

    deliver(registered(device), registered(device), registered(other))

    assert len([m for m in mail.outbox if "New device" in m.subject]) == 2


def test_past_the_hourly_limit_mails_of_a_category_are_folded_into_the_digest(user, deliver, settings):
    settings.NOTIFICATION = {**settings.NOTIFICATION, "RATE_LIMIT_PER_HOUR": 2}

    deliver(*[PasswordChanged(user_id=user.pk, method="change", sessions_invalidated=0) for _ in range(5)])

    assert emails(user, "sent").count() == 2
    assert emails(user, "folded").count() == 3
    assert Notification.objects.filter(user_id=user.pk, event_type="identity.password.changed").count() == 5


def test_urgent_alerts_are_not_rate_limited(user, deliver, settings):
    settings.NOTIFICATION = {**settings.NOTIFICATION, "RATE_LIMIT_PER_HOUR": 1}

    deliver(
        *[
            SuspiciousLoginDetected(
                user_id=user.pk, ip_address="198.51.100.1", risk_level="medium", risk_factors=[]
            )
            for _ in range(3)
        ]
    )

    assert emails(user, "sent").count() == 3


def test_a_category_turned_off_stops_its_mails_but_not_mandatory_ones(user, deliver):
    preferences.preferences_update(
        user_id=user.pk, preferences=[{"category": "security", "email": False, "in_app": True}]
    )

    deliver(
        DeviceRegistered(
            device_id=uuid.uuid4(), user_id=user.pk, fingerprint_hash="h", trusted=False, user_agent="Safari"
        ),
        PasswordChanged(user_id=user.pk, method="reset", sessions_invalidated=2),
    )

    assert [m.subject for m in mail.outbox if m.subject != "Welcome to the identity platform"] == [
        "Your password was changed"
    ]
    assert Notification.objects.filter(user_id=user.pk, event_type="identity.device.registered").exists()


def test_mandatory_security_alerts_cannot_be_turned_off(user):
    with pytest.raises(preferences.MandatoryCategory):
        preferences.preferences_update(
            user_id=user.pk, preferences=[{"category": "security_alerts", "email": False, "in_app": True}]
        )

    assert not Preference.objects.exists()


def test_only_a_reused_token_family_notifies(user, deliver):
    def revoked(reason):
        return TokenFamilyRevoked(
            session_id=uuid.uuid4(), user_id=user.pk, family_id=uuid.uuid4(), reason=reason, tokens_revoked=3
        )

    deliver(revoked("logout"), revoked("reuse_detected"))

    assert [m.subject for m in mail.outbox if "session" in m.subject] == ["Possible theft of your session"]


def test_elevation_requests_go_to_the_approvers_but_never_to_the_requester(user, deliver):
    approver = User.objects.create_superuser("boss@example.com", "a-long-test-password")
    requester = User.objects.create_superuser("self@example.com", "a-long-test-password")

    deliver(
        PermissionElevationRequested(
            request_id=uuid.uuid4(),
            user_id=requester.pk,
            permission_id=uuid.uuid4(),
            justification="incident 42",
            duration_seconds=3600,
        )
    )

    [message] = [m for m in mail.outbox if "elevation" in m.subject]
    assert message.to == [approver.email]
    assert "incident 42" in message.body


def test_a_message_reads_the_rules_of_its_event_type_once_and_applies_them_to_each_event(
    user, django_capture_on_commit_callbacks
):
    # given a message of five password changes (notification's messages carry up to fifty)
    envelopes = [
        publish(PasswordChanged(user_id=user.pk, method="change", sessions_invalidated=0)) for _ in range(5)
    ]

    # when the consumer processes it
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert notification.process(envelopes, 0) == []

    # then each event got its mail, and the rules were read once for the message
    assert emails(user, "sent").count() == 5
    rule_reads = [q for q in queries.captured_queries if 'FROM "notification_notificationrule"' in q["sql"]]
    assert len(rule_reads) == 1


def test_a_message_reads_its_events_users_in_one_query_and_mails_each_event_to_its_own_user(
    django_capture_on_commit_callbacks,
):
    # given a message of password changes of three users, one of whose accounts is gone since
    people = [UserFactory(email=f"{name}@example.com") for name in ("ann", "ben", "cy")]
    envelopes = [
        publish(PasswordChanged(user_id=person.pk, method="change", sessions_invalidated=0))
        for person in [*people, people[0]]
    ]
    gone = people.pop()
    gone.delete()
    mail.outbox.clear()

    # when the consumer processes it
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        assert notification.process(envelopes, 0) == []

    # then each event's mail went to its own user, none to the account that is gone, and the
    # users were read once for the whole message
    assert sorted(address for m in mail.outbox for address in m.to) == [
        "ann@example.com",
        "ann@example.com",
        "ben@example.com",
    ]
    assert not Delivery.objects.filter(recipient_id=gone.pk).exists()
    user_reads = [q for q in queries.captured_queries if 'FROM "identity_user"' in q["sql"]]
    assert len(user_reads) == 1


def test_a_refused_mail_is_failed_dead_lettered_and_sent_again_by_the_replay(
    user, deliver, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({"pat@example.com": (550, b"no such mailbox")})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    [envelope] = deliver(
        SuspiciousLoginDetected(
            user_id=user.pk, ip_address="192.0.2.1", risk_level="critical", risk_factors=[]
        )
    )

    delivery = emails(user).get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    letter = DeadLetter.objects.get(consumer="notification.delivery")
    assert (str(letter.event_id), letter.reason) == (envelope["event_id"], "permanent")

    # when the dead letter is replayed (from the admin or the API, in the web process)
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        deadletters.replay(letter)

    # then the e-mail is pending again with fresh attempts, and a send task for it waits in the
    # outbox for the urgent lane; run by a worker, it sends the mail
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    [task] = OutboxTask.objects.filter(name="eventbus.outbound.send")
    assert (task.args, task.queue) == (["notification.delivery", delivery.pk], routing.NOTIFICATION_URGENT)
    sender.send.run(*task.args)
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert [m.subject for m in mail.outbox if "Suspicious" in m.subject] == [
        "Suspicious sign-in to your account"
    ]


def test_the_sweep_sends_an_email_its_after_commit_send_never_sent(user, settings):
    # given a pending e-mail whose worker died before sending it
    stale = timezone.now() - dt.timedelta(seconds=settings.EVENTBUS["OUTBOUND_SWEEP_AFTER"] + 1)
    delivery = Delivery.objects.create(
        event_id=uuid.uuid4(),
        event_type="identity.password.changed",
        recipient_id=user.pk,
        address=user.email,
        channel="email",
        category="security",
        subject="Your password was changed",
        body_text="body",
        created_at=stale,
        next_attempt_at=stale,
    )

    # when the periodic sweep runs, and a worker takes the send task it queued
    purge_queues()
    swept = resend.sweep()
    [args] = take_queued_args(routing.NOTIFICATION, "eventbus.outbound.send", every=True)
    sender.send.run(*args)

    # then it is sent
    assert (swept, args) == (1, ["notification.delivery", delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == "sent"
    assert [m.subject for m in mail.outbox] == ["Your password was changed"]


def test_the_admin_lists_rules_and_deliveries_with_their_status(user, deliver, client):
    admin = User.objects.create_superuser("root@example.com", "a-long-test-password")
    admin_sign_in(client, admin, "a-long-test-password")
    deliver(PasswordChanged(user_id=user.pk, method="change", sessions_invalidated=0))

    rules = client.get("/admin/notification/notificationrule/")
    deliveries = client.get("/admin/notification/delivery/")

    assert rules.status_code == 200
    assert b"mfa-failures" in rules.content
    assert deliveries.status_code == 200
    assert b"Your password was changed" in deliveries.content
    assert b"Sent" in deliveries.content


def test_a_rule_may_only_name_an_event_the_consumer_takes(client):
    # given a rule for an event notification does not take (identity.user.updated)
    rule = NotificationRule(key="user-updated", event_type="identity.user.updated", template="welcome")

    # then validating it refuses it, naming the event
    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    assert "does not take 'identity.user.updated'" in str(refused.value.message_dict["event_type"])

    # and the admin's form refuses it too, while an event of the table is accepted
    admin = User.objects.create_superuser("root@example.com", "a-long-test-password")
    admin_sign_in(client, admin, "a-long-test-password")
    form = {
        "key": "user-updated",
        "event_type": "identity.user.updated",
        "is_active": "on",
        "recipients": "user",
        "email": "on",
        "in_app": "on",
        "template": "welcome",
        "category": "account",
        "conditions": "{}",
        "threshold_count": "1",
        "threshold_window_seconds": "0",
    }
    refused_page = client.post("/admin/notification/notificationrule/add/", form)
    assert refused_page.status_code == 200
    assert b"does not take" in refused_page.content
    accepted = client.post(
        "/admin/notification/notificationrule/add/", {**form, "event_type": "identity.user.registered"}
    )
    assert accepted.status_code == 302
    assert NotificationRule.objects.get(key="user-updated").event_type == "identity.user.registered"
