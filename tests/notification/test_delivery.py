"""End to end: events through RabbitMQ to a real worker, mails to a real SMTP server on loopback."""

from __future__ import annotations

import re
import uuid

import pytest

from identity.events import MFAChallengeFailed, PasswordChanged, SuspiciousLoginDetected
from identity_project.eventbus import deadletters, routing
from identity_project.eventbus.models import DeadLetter, ProcessedEvent
from notification.consumer import notification
from notification.models import Delivery, Notification
from notification.tasks import send_digests
from tests.notification.conftest import make_user, publish_now
from tests.support.processes import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services, pytest.mark.slow]


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_suspicious_login_reaches_the_smtp_server_once_even_when_redelivered(
    notification_worker, smtp_server
):
    mailbox = smtp_server.mailbox
    alice = make_user("alice")

    # when a suspicious login is published
    [envelope] = publish_now(
        SuspiciousLoginDetected(
            user_id=alice.pk, ip_address="203.0.113.7", risk_level="high", risk_factors=["new_country"]
        )
    )

    # then the user gets one mail, with the facts, in text and HTML, and an in-app notification
    [message] = wait_for(lambda: mailbox.to(alice.email, "suspicious"), what="the alert mail")
    assert message["To"] == alice.email
    assert message["Subject"] == "Suspicious sign-in to your account"
    assert "203.0.113.7" in body(message)
    assert "rated high risk (new_country)" in body(message)
    assert "Hello Alice" in message.get_body(preferencelist=("html",)).get_content()
    assert Notification.objects.filter(user_id=alice.pk, event_id=envelope["event_id"]).count() == 1

    # when the same envelope is delivered again, twice, and a later event is sent behind it
    notification.send([envelope], queue=routing.NOTIFICATION_URGENT)
    notification.send([envelope], queue=routing.NOTIFICATION_URGENT)
    publish_now(PasswordChanged(user_id=alice.pk, method="change", sessions_invalidated=1))
    wait_for(lambda: mailbox.to(alice.email, "password was changed"), what="the later mail")
    [later] = publish_now(PasswordChanged(user_id=alice.pk, method="admin", sessions_invalidated=0))
    wait_for(
        lambda: ProcessedEvent.objects.filter(consumer="notification", event_id=later["event_id"]).exists(),
        what="the last event, behind the duplicates on the urgent lane's worker",
    )

    # then nothing more was sent or recorded for it
    assert len(mailbox.to(alice.email, "suspicious")) == 1
    assert Delivery.objects.filter(event_id=envelope["event_id"]).count() == 2  # e-mail and in-app
    assert Delivery.objects.get(event_id=envelope["event_id"], channel="email").status == "sent"


def test_a_burst_of_100_failed_mfa_challenges_yields_one_alert_and_one_digest(
    notification_worker, smtp_server
):
    mailbox = smtp_server.mailbox
    bob = make_user("bob")
    challenge = uuid.uuid4()

    # when an attacker fails 100 MFA challenges
    envelopes = publish_now(
        *[
            MFAChallengeFailed(
                challenge_id=challenge,
                user_id=bob.pk,
                session_id=uuid.uuid4(),
                attempts=i,
                reason="invalid_code",
            )
            for i in range(1, 101)
        ]
    )
    ids = [e["event_id"] for e in envelopes]
    wait_for(
        lambda: ProcessedEvent.objects.filter(consumer="notification", event_id__in=ids).count() == 100,
        timeout=60,
        what="the 100 events to be handled",
    )
    wait_for(lambda: mailbox.to(bob.email, "failed mfa"), what="the alert")

    # then one alert went out, naming how many had failed when it did (at least the threshold,
    # 3; more when the two worker processes took the burst out of order), and every event after
    # it waits for the digest. The burst comes in two messages (notification's batch is 50): when
    # the two workers take them at once, the first two of each may be counted below the threshold
    # before the other's are committed, so 95 to 97 are folded.
    [alert] = mailbox.to(bob.email, "failed mfa")
    counted = re.search(r"(\d+) MFA challenges on your account failed within 10 minutes", body(alert))
    assert counted is not None, body(alert)
    assert 3 <= int(counted.group(1)) < 10
    folded = Delivery.objects.filter(recipient_id=bob.pk, status="folded").count()
    assert 100 - 1 - 2 * 2 <= folded <= 100 - 1 - 2

    # when the periodic digest runs
    send_digests.apply_async(queue=routing.NOTIFICATION)

    # then one digest sums them up, and bob got three mails in all, not 100
    [digest] = wait_for(lambda: mailbox.to(bob.email, "digest"), what="the digest")
    assert digest["Subject"] == f"Digest: {folded} notifications you did not get one by one"
    assert f"- {folded} x Failed MFA challenges on your account" in body(digest)
    assert len(mailbox.to(bob.email)) == 3  # the welcome mail, the alert, the digest
    assert Delivery.objects.filter(recipient_id=bob.pk, status="digested").count() == folded


def test_a_failing_smtp_server_is_retried_then_dead_lettered_and_the_replay_sends_the_mail(
    notification_worker, smtp_server
):
    mailbox = smtp_server.mailbox
    carol, dave = make_user("carol"), make_user("dave")
    wait_for(lambda: mailbox.to(carol.email, "welcome") and mailbox.to(dave.email, "welcome"), what="welcome")
    # carol's mailbox answers "try later" twice, dave's three times: all his attempts (3 here)
    mailbox.refuse[carol.email] = ["451 4.3.0 try again later"] * 2
    mailbox.refuse[dave.email] = ["452 4.2.2 mailbox full"] * 3

    # when both get an alert
    publish_now(
        *[
            SuspiciousLoginDetected(
                user_id=u.pk, ip_address="192.0.2.5", risk_level="medium", risk_factors=[]
            )
            for u in (carol, dave)
        ]
    )

    # then carol's mail arrives on its third attempt
    # (the mailbox holds it a moment before the worker commits the delivery as sent)
    wait_for(lambda: mailbox.to(carol.email, "suspicious"), timeout=30, what="carol's mail after retries")
    carol_mail = wait_for(
        lambda: Delivery.objects.filter(
            recipient_id=carol.pk, channel="email", event_type__contains="suspicious", status="sent"
        ).first(),
        what="carol's delivery to be committed as sent",
    )
    assert carol_mail.attempts == 3
    assert len(mailbox.to(carol.email, "suspicious")) == 1

    # and dave's, its attempts spent, is failed and kept as a dead letter (without his address)
    letter = wait_for(
        lambda: DeadLetter.objects.filter(consumer="notification.delivery").first(),
        timeout=30,
        what="the dead letter",
    )
    dave_mail = Delivery.objects.get(recipient_id=dave.pk, channel="email", event_type__contains="suspicious")
    assert (dave_mail.status, dave_mail.attempts) == ("failed", 3)
    assert (str(letter.event_id), letter.reason, letter.attempts) == (
        str(dave_mail.event_id),
        "retries_exhausted",
        3,
    )
    assert "452 4.2.2 mailbox full" in letter.error
    assert dave.email not in letter.error
    assert not mailbox.to(dave.email, "suspicious")

    # when his mailbox works again and the dead letter is replayed, twice
    deadletters.replay(letter)
    wait_for(lambda: mailbox.to(dave.email, "suspicious"), what="dave's mail after the replay")
    letter.refresh_from_db()
    deadletters.replay(letter)
    publish_now(PasswordChanged(user_id=dave.pk, method="change", sessions_invalidated=0))
    wait_for(lambda: mailbox.to(dave.email, "password was changed"), what="a later mail")

    # then he got the alert once
    assert len(mailbox.to(dave.email, "suspicious")) == 1
    wait_for(
        lambda: Delivery.objects.filter(pk=dave_mail.pk, status="sent").exists(),
        what="dave's delivery to be committed as sent",
    )
