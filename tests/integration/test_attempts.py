"""One attempt against real receivers on loopback: by host name over HTTP and HTTPS (the certificate
checked against the name, not the address dialled), and within its total deadline when the
receiver trickles its answer."""

from __future__ import annotations

import select
import socket
import ssl
import threading
import uuid

import pytest
import trustme

from integration import signing
from integration.models import WebhookSubscription
from integration.services import sending
from integration.services.sending import post_signed
from tests.integration.conftest import Receiver, verify

pytestmark = pytest.mark.django_db

# What the trickling receiver waits between two bytes: below the per-operation timeout (1 s in
# these tests), so only a deadline on the whole attempt can stop it.
TRICKLE_INTERVAL = 0.5
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 40\r\n\r\n"
BODY = b"x" * 40


@pytest.fixture(autouse=True)
def _fresh_connections(webhook_settings):
    """Every test dials afresh: no connection kept alive by an earlier test's client."""
    sending._clients.clear()
    yield
    sending._clients.clear()


def subscription_to(url: str) -> tuple[WebhookSubscription, str]:
    secret = signing.secret_generate()
    return WebhookSubscription.objects.create(url=url, event_types=["*"], secret=secret), secret


def send(subscription: WebhookSubscription) -> sending.AttemptResult:
    return post_signed(subscription=subscription, webhook_id=f"msg_{uuid.uuid4().hex}", body=b'{"a": 1}')


def test_a_receiver_on_loopback_is_reached_by_its_host_name(receiver):
    # given private targets allowed (as in development) and a subscription naming the host
    subscription, secret = subscription_to(receiver.url(host="localhost"))

    # when it is sent to
    result = send(subscription)

    # then it arrives, signed, with the name in the Host header
    assert (result.status_code, result.response_body, result.error) == (200, "ok", "")
    [request] = receiver.received()
    assert request.headers["host"] == f"localhost:{receiver.port}"
    assert verify(secret, request)


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> tuple[trustme.CA, str]:
    authority = trustme.CA()
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return authority, str(bundle)


def tls_receiver(ca: trustme.CA, name: str) -> Receiver:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    endpoint = Receiver(tls=context)
    endpoint.start()
    return endpoint


def test_https_by_name_dials_loopback_and_checks_the_certificate_against_the_name(ca, webhook_settings, dns):
    # given a receiver on loopback whose certificate is for webhooks.test, trusted through the CA
    # bundle, and the name answering loopback
    authority, bundle = ca
    dns.answers["webhooks.test"] = ["127.0.0.1"]
    webhook_settings.WEBHOOK_CA_BUNDLE = bundle
    endpoint = tls_receiver(authority, "webhooks.test")
    try:
        subscription, secret = subscription_to(endpoint.url(host="webhooks.test"))

        # when it is sent to
        result = send(subscription)

        # then the TLS handshake and the Host header used the name, and the webhook arrived
        assert (result.status_code, result.error) == (200, "")
        [request] = endpoint.received()
        assert request.headers["host"] == f"webhooks.test:{endpoint.port}"
        assert verify(secret, request)
    finally:
        endpoint.stop()


def test_a_certificate_for_another_name_is_refused(ca, webhook_settings, dns):
    # given a receiver on loopback whose certificate names another host
    authority, bundle = ca
    dns.answers["webhooks.test"] = ["127.0.0.1"]
    webhook_settings.WEBHOOK_CA_BUNDLE = bundle
    endpoint = tls_receiver(authority, "someone-else.test")
    try:
        subscription, _ = subscription_to(endpoint.url(host="webhooks.test"))

        # when it is sent to
        result = send(subscription)

        # then the attempt fails on the certificate and nothing was posted
        assert result.status_code is None
        assert "CERTIFICATE_VERIFY_FAILED" in result.error
        assert endpoint.received() == []
    finally:
        endpoint.stop()


class TricklingReceiver:
    """A raw HTTP server on loopback that takes one request, sends `at_once`, then `trickled` one
    byte every TRICKLE_INTERVAL, and notes how far it got when the sender hung up."""

    def __init__(self, *, at_once: bytes, trickled: bytes) -> None:
        self.at_once = at_once
        self.trickled = trickled
        self.sent = 0
        self.hung_up = threading.Event()
        self.finished = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(self.at_once)
            for byte in self.trickled:
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    self.hung_up.set()
                    return
                self.sent += 1
                readable, _, _ = select.select([connection], [], [], TRICKLE_INTERVAL)
                # The rest of the request may still come in; an empty read is the sender's close.
                if readable and connection.recv(65536) == b"":
                    self.hung_up.set()
                    return
            self.finished.set()

    def close(self) -> None:
        self._listener.close()


@pytest.mark.parametrize(
    ("at_once", "trickled"),
    [pytest.param(b"", HEAD + BODY, id="status-line-and-headers"), pytest.param(HEAD, BODY, id="body")],
)
def test_a_trickled_answer_is_cut_off_at_the_attempts_deadline(webhook_settings, at_once, trickled):
    # given a receiver that answers a byte every half second (everything, or the body), an
    # operation timeout of 1 s and a deadline of 2 s for the whole attempt
    webhook_settings.WEBHOOK_ATTEMPT_DEADLINE = 2.0
    trickler = TricklingReceiver(at_once=at_once, trickled=trickled)
    try:
        subscription, _ = subscription_to(f"http://localhost:{trickler.port}/hook")

        # when it is sent to
        result = send(subscription)

        # then the attempt ended with the deadline as its error, keeping nothing of the answer,
        # and it hung up long before the receiver was done
        assert result.error.startswith("deadline exceeded"), result
        assert (result.status_code, result.response_body) == (None, "")
        assert trickler.hung_up.wait(timeout=10)
        assert not trickler.finished.is_set()
        assert trickler.sent < len(trickled)
    finally:
        trickler.close()
