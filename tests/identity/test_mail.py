"""Identity's mails leave after commit, through the outbound mechanism: a code is made once, in
the transaction that records its mail, and a retry sends that same code."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django_otp.plugins.otp_email.models import EmailDevice

from identity.consumer import identity as identity_consumer
from identity.models import OutgoingMail
from tests.conftest import purge_queues
from tests.identity.support import api, login, mark, published_since
from tests.support.processes import service_env, start_worker, wait_for


def _code(message) -> str:
    return re.findall(r"\b\d{6}\b", message.get_content())[-1]


@pytest.mark.django_db(transaction=True)
def test_a_code_the_server_kept_but_failed_is_sent_again_unchanged_and_still_opens_the_session(
    alice, smtp_server, log_dir
):
    # given an e-mail second factor, and an SMTP server that keeps the first message it is given
    # and answers "451 try again" (the sender cannot tell the mail arrived)
    EmailDevice.objects.create(user=alice, name="e-mail", confirmed=True)
    smtp_server.mailbox.fail_after_accepting = 1
    purge_queues()
    worker = start_worker(
        log_dir,
        queues="identity",
        env=service_env(EMAIL_URL=smtp_server.url, IDENTITY_MAIL_BACKOFF_FACTOR="0.5"),
    )

    # when a sign-in asks for its code
    try:
        challenge_id = login(api(), alice.email).json()["challenge_id"]
        wait_for(lambda: len(smtp_server.mailbox.to(alice.email)) >= 2, timeout=60, what="a second mail")
    finally:
        worker.stop()
        purge_queues()

    # then both mails carry the same code, and the first one received opens the session
    first, second = smtp_server.mailbox.to(alice.email)[:2]
    assert _code(first) == _code(second)
    verified = api().post(
        "/api/v1/auth/mfa/verify", {"challenge_id": challenge_id, "code": _code(first)}, format="json"
    )
    assert verified.status_code == 200
    mail_record = OutgoingMail.objects.get(user_id=alice.pk)
    assert (mail_record.status, mail_record.attempts, mail_record.attempts_made.count()) == ("sent", 2, 2)


@pytest.mark.django_db(transaction=True)
def test_a_consumer_transaction_that_rolls_back_mails_nothing(alice, smtp_server, settings):
    # given an e-mail challenge, and mail going to the loopback SMTP server
    EmailDevice.objects.create(user=alice, name="e-mail", confirmed=True)
    since = mark()
    login(api(), alice.email)
    [issued] = [p.envelope for p in published_since(since) if p.type == "mfa_challenge.issued"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port

    # when the consumer handles it but its transaction does not commit
    with transaction.atomic():
        assert identity_consumer.process([issued], attempt=0) == []
        transaction.set_rollback(True)

    # then no code left, and none is recorded to leave
    assert smtp_server.mailbox.messages == []
    assert not OutgoingMail.objects.exists()
