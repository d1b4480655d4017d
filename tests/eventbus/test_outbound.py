"""The outbound mechanism, through the probe's pager channel (tests/probe/outbound.py) and a real
HTTP peer on loopback: one record is never in flight twice, an attempt that outlived its lease
changes nothing, a send asked for again waits for the attempt in flight, spent retries are
dead-lettered and replayed; and an SMTP server that trickles is cut at the deadline."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import threading
import uuid

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from identity_project.eventbus import deadletters
from identity_project.eventbus.models import DeadLetter, OutboxTask
from identity_project.eventbus.outbound import mail, resend, sender
from tests.conftest import purge_queues
from tests.probe.models import Page
from tests.probe.outbound import pager
from tests.support.http_receiver import LoopbackReceiver
from tests.support.ports import free_port
from tests.support.processes import PYTHON, ROOT, service_env, wait_for
from tests.support.queues import take_queued_args

pytestmark = pytest.mark.django_db(transaction=True)


class Pager(LoopbackReceiver):
    """Answers each page with the next of `statuses` (then 200); `hold` keeps an answer back
    until `release` is set."""

    def __init__(self, *statuses: int) -> None:
        super().__init__()
        self.statuses = list(statuses)
        self.pages = 0
        self.hold = False
        self.holding = threading.Event()
        self.release = threading.Event()

    def answer(self, path, headers, body):
        with self._lock:
            self.pages += 1
            status = self.statuses.pop(0) if self.statuses else 200
            hold, self.hold = self.hold, False
        if hold:
            self.holding.set()
            self.release.wait(30)
        return status, {}


@pytest.fixture
def peer():
    receiver = Pager()
    receiver.start()
    yield receiver
    receiver.release.set()
    receiver.stop()


def _page(peer: Pager) -> Page:
    return Page.objects.create(event_id=uuid.uuid4(), url=peer.url(), text="disk full")


def _in_flight(page: Page, peer: Pager) -> tuple[threading.Thread, list]:
    """An attempt in another thread, held by the peer before it answers."""
    peer.hold = True
    result: list = []

    def run() -> None:
        try:
            result.append(sender.attempt(pager, page.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert peer.holding.wait(10)
    return thread, result


def test_one_record_is_never_in_flight_twice(peer):
    page = _page(peer)
    thread, result = _in_flight(page, peer)

    # a second message for the record finds it taken: it is told when to look again
    again_in = sender.attempt(pager, page.pk)

    peer.release.set()
    thread.join(10)
    assert isinstance(again_in, float)
    assert again_in > pager.policy().deadline
    assert (result, peer.pages) == (["sent"], 1)
    page.refresh_from_db()
    assert (page.status, page.attempts, page.attempts_made.count()) == ("sent", 1, 1)


def test_an_attempt_that_outlived_its_lease_changes_nothing(peer):
    # given an attempt still in flight when its lease ends, and another that takes the record over
    peer.statuses = [500]
    page = _page(peer)
    thread, result = _in_flight(page, peer)
    Page.objects.filter(pk=page.pk).update(lease_until=timezone.now())
    peer.statuses = [200]
    assert sender.attempt(pager, page.pk) == "sent"

    # when the first attempt's late failure comes back
    peer.release.set()
    thread.join(10)

    # then it turns nothing back: the record stays sent
    page.refresh_from_db()
    assert result == ["lease_lost"]
    assert (page.status, page.claim, page.lease_until) == ("sent", None, None)


def test_a_send_asked_for_while_in_flight_waits_for_that_attempt_then_goes_once_more(peer):
    purge_queues()
    page = _page(peer)
    thread, result = _in_flight(page, peer)

    assert resend.redeliver(pager, [page.pk]) == 1
    assert peer.pages == 1  # nothing sent beside the attempt in flight
    peer.release.set()
    thread.join(10)

    page.refresh_from_db()
    assert (result, page.status, page.attempts) == (["pending"], "pending", 0)
    [args] = take_queued_args("probe", "eventbus.outbound.send", every=True)
    sender.send.run(*args)
    page.refresh_from_db()
    assert (peer.pages, page.status, page.attempts_made.count()) == (2, "sent", 2)


def _drop_this_connection() -> None:
    """What pg_terminate_backend does to a worker: its connection dies, from another session."""
    pid = connection.connection.info.backend_pid
    with psycopg.connect(**_other_session()) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def _other_session() -> dict:
    settings = connection.settings_dict
    return {
        "host": settings["HOST"],
        "port": settings["PORT"],
        "user": settings["USER"],
        "dbname": settings["NAME"],
    }


def test_a_record_whose_connection_dies_at_commit_still_gets_a_send_task(peer):
    # given a record committed with its send, and the worker's connection killed right at commit
    purge_queues()
    with transaction.atomic():
        transaction.on_commit(_drop_this_connection)
        page = _page(peer)
        sender.send_after_commit(pager, pk=page.pk)
    connection.close()

    # then the record is not left to the sweep: a send task carries it, and it is sent
    assert take_queued_args("probe", "eventbus.outbound.send", every=True) == [["probe.pager", page.pk]]
    sender.send.run("probe.pager", page.pk)
    page.refresh_from_db()
    assert (page.status, peer.pages) == ("sent", 1)


def test_a_send_task_that_waits_for_a_lease_twice_comes_back_to_its_queue(peer, worker):
    # given a record in flight under a lease that ends in a few seconds (its attempt died)
    page = _page(peer)
    lease_until = timezone.now() + dt.timedelta(seconds=3)
    Page.objects.filter(pk=page.pk).update(status="sending", claim=uuid.uuid4(), lease_until=lease_until)

    # when its send task comes through the broker's delay (a retry) and finds the lease still held
    sender.send.apply_async(args=("probe.pager", page.pk), queue="probe", countdown=1)

    # then the task waits out the lease on its own queue, not on one named after the delay
    wait_for(lambda: Page.objects.get(pk=page.pk).status == "sent", timeout=30, what="the page sent")
    assert peer.pages == 1


def test_a_send_task_that_comes_before_its_record_is_due_waits_for_it(peer, worker):
    # given a record whose next attempt is due in a few seconds (a retry's backoff)
    page = _page(peer)
    Page.objects.filter(pk=page.pk).update(next_attempt_at=timezone.now() + dt.timedelta(seconds=4))

    # when a send task for it comes at once (the task outbox's copy of a retry, after an outage)
    sender.send.apply_async(args=("probe.pager", page.pk), queue="probe")

    # then it waits for the record to be due and sends it, once
    wait_for(lambda: Page.objects.get(pk=page.pk).status == "sent", timeout=30, what="the page sent")
    assert peer.pages == 1


SCHEDULE = (
    "from identity_project.eventbus.outbound import sender; from tests.probe.models import Page; "
    "from tests.probe.outbound import pager; sender.schedule(pager, Page.objects.get(pk={pk}), 0)"
)


def test_a_send_task_the_broker_refuses_goes_through_the_task_outbox(peer, worker):
    # given a record, and a process whose broker refuses every connection (it is down)
    page = _page(peer)
    down = service_env(CELERY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}//")

    # when that process schedules the record's send
    command = [PYTHON, "manage.py", "shell", "-c", SCHEDULE.format(pk=page.pk)]
    subprocess.run(command, cwd=ROOT, env=down, check=True, capture_output=True, timeout=120)

    # then the task waited in the outbox, not for the sweep: the relay sends it and the page goes
    wait_for(lambda: Page.objects.get(pk=page.pk).status == "sent", timeout=30, what="the page sent")
    assert (peer.pages, OutboxTask.objects.count()) == (1, 0)


def test_spent_retries_are_dead_lettered_under_the_channel_name_and_the_replay_sends_again(peer, monkeypatch):
    monkeypatch.setattr(pager, "max_attempts", 2)
    peer.statuses = [503, 503]
    page = _page(peer)

    assert sender.attempt(pager, page.pk) == "pending"
    Page.objects.filter(pk=page.pk).update(next_attempt_at=timezone.now())
    assert sender.attempt(pager, page.pk) == "failed"

    letter = DeadLetter.objects.get(consumer="probe.pager")
    assert (letter.event_id, letter.reason, letter.attempts) == (page.event_id, "retries_exhausted", 2)
    assert [a.status_code for a in page.attempts_made.all()] == [503, 503]

    deadletters.replay(letter)
    [task] = OutboxTask.objects.filter(name="eventbus.outbound.send")
    sender.send.run(*task.args)
    page.refresh_from_db()
    assert (page.status, peer.pages) == ("sent", 3)


def test_an_smtp_server_that_trickles_its_greeting_is_cut_at_the_deadline(settings):
    # given an SMTP server that sends its greeting one byte a second
    greeting = b"220 slow.example.com ESMTP at the pace of a drip\r\n"
    sent: list[int] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def trickle() -> None:
        client, _ = listener.accept()
        with client:
            for i in range(len(greeting)):
                try:
                    client.sendall(greeting[i : i + 1])
                except OSError:
                    break  # the sender hung up
                sent.append(i)
                threading.Event().wait(1)

    threading.Thread(target=trickle, daemon=True).start()
    settings.EMAIL_BACKEND = "identity_project.eventbus.outbound.mail.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", listener.getsockname()[1]

    # when a mail is sent with a two-second deadline (each read may take five)
    with pytest.raises(OSError):
        mail.send_email(subject="s", text="t", to="pat@example.com", deadline=2, timeout=5)
    listener.close()

    # then the sender gave up long before the greeting was over
    assert len(sent) < len(greeting) // 2
