"""Webhook targets: a name is resolved once and the connection dials what was checked (no DNS
rebinding); every non-global address, IPv4 inside IPv6 forms included, is refused when a
subscription is saved and when it is sent to; private targets are refused unless allowed.

DNS is the outside world here: `dns` (conftest) answers for the names a test gives; receivers are
real HTTP servers on loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from django.db import transaction

from identity.events import UserRegistered
from identity.models import User
from identity_project.eventbus.envelope import decode
from identity_project.eventbus.outbound import sender
from identity_project.eventbus.publisher import publish
from integration import services, signing
from integration.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from integration.services.channel import webhook
from integration.services.sending import post_signed
from tests.support.admin_site import admin_sign_in
from tests.support.processes import ROOT

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/integration/webhooks"
# A public address (example.com's of old). The rebinding test dials it: that is the point.
PUBLIC = "93.184.216.34"
# What an internal service would leak: a webhook's stored answer must never hold it.
INTERNAL_ANSWER = b"instance-credentials: AKIA-not-for-webhooks"

NON_GLOBAL = [
    pytest.param("127.0.0.1", id="loopback"),
    pytest.param("10.1.2.3", id="private-10"),
    pytest.param("172.16.0.1", id="private-172"),
    pytest.param("192.168.1.1", id="private-192"),
    pytest.param("100.64.0.1", id="cgnat"),
    pytest.param("169.254.169.254", id="metadata"),
    pytest.param("169.254.1.1", id="link-local"),
    pytest.param("0.0.0.0", id="unspecified"),
    pytest.param("224.0.0.1", id="multicast"),
    pytest.param("255.255.255.255", id="broadcast"),
    pytest.param("240.0.0.1", id="reserved"),
    pytest.param("192.0.0.9", id="ietf-protocol-assignment"),
    pytest.param("198.18.0.1", id="benchmarking"),
    pytest.param("::1", id="ipv6-loopback"),
    pytest.param("::", id="ipv6-unspecified"),
    pytest.param("fe80::1", id="ipv6-link-local"),
    pytest.param("fc00::1", id="ula-fc"),
    pytest.param("fd12:3456::1", id="ula-fd"),
    pytest.param("ff02::1", id="ipv6-multicast"),
    pytest.param("ff0e::1", id="ipv6-global-multicast"),
    pytest.param("2001:db8::1", id="ipv6-documentation"),
    pytest.param("::ffff:127.0.0.1", id="ipv4-mapped-loopback"),
    pytest.param("::ffff:169.254.169.254", id="ipv4-mapped-metadata"),
    pytest.param("::127.0.0.1", id="ipv4-compatible-loopback"),
    pytest.param("::8.8.8.8", id="ipv4-compatible-public"),
    pytest.param("2002:7f00:1::1", id="6to4-loopback"),
    pytest.param("2002:a9fe:a9fe::1", id="6to4-metadata"),
    pytest.param("64:ff9b::7f00:1", id="nat64-loopback"),
    pytest.param("64:ff9b::a9fe:a9fe", id="nat64-metadata"),
    pytest.param("64:ff9b:1::a00:1", id="nat64-local-use"),
    pytest.param("2001:0:4136:e378:8000:63bf:3fff:fdd2", id="teredo"),
]
PUBLIC_FORMS = [
    pytest.param(PUBLIC, id="ipv4"),
    pytest.param("2606:4700:4700::1111", id="ipv6"),
    pytest.param("2002:808:808::1", id="6to4-of-a-public-address"),
    pytest.param("64:ff9b::808:808", id="nat64-of-a-public-address"),
]


@pytest.fixture
def api_admin(client, webhook_settings):
    admin_sign_in(
        client,
        User.objects.create_superuser("root@example.com", "a-long-admin-password"),
        "a-long-admin-password",
    )
    return client


def subscription_to(url: str) -> WebhookSubscription:
    """A subscription as it was saved earlier, when its name still answered something else."""
    return WebhookSubscription.objects.create(url=url, event_types=["*"], secret=signing.secret_generate())


def literal(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.mark.parametrize("address", NON_GLOBAL)
def test_each_non_global_address_is_refused_when_a_subscription_is_saved(api_admin, settings, address):
    # given the production setting: private targets are not allowed
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    # when a subscription to that address is asked for
    response = api_admin.post(
        WEBHOOKS,
        {"url": f"https://{literal(address)}/hook", "event_types": ["identity.user.*"]},
        content_type="application/json",
    )

    # then it is refused in the error shape, saying why, and nothing exists
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "resolves to" in error["fields"]["url"][0]
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("address", PUBLIC_FORMS)
def test_public_addresses_are_accepted_in_every_form(api_admin, settings, address):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    response = api_admin.post(
        WEBHOOKS,
        {"url": f"https://{literal(address)}/hook", "event_types": ["identity.user.*"]},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content


@pytest.mark.parametrize("address", NON_GLOBAL)
def test_each_non_global_address_is_refused_when_sending(dns, webhook_settings, receiver, address):
    # given a subscription whose name now answers a non-global address
    webhook_settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    subscription = subscription_to(receiver.url(host="target.test"))
    dns.answers["target.test"] = [address]

    # when it is sent to
    result = post_signed(subscription=subscription, webhook_id=f"msg_{uuid.uuid4().hex}", body=b"{}")

    # then the attempt is refused before any connection, and loopback got nothing
    assert result.error.startswith("target refused: target.test resolves to")
    assert (result.status_code, result.response_body) == (None, "")
    assert receiver.requests == []


def test_a_name_that_rebinds_to_loopback_after_the_check_never_reaches_it(
    dns, webhook_settings, receiver, api_admin
):
    # given private targets refused, an internal service on loopback, and a name whose first
    # answer is public and every later one loopback
    webhook_settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    webhook_settings.WEBHOOK_ATTEMPT_DEADLINE = 2.0
    receiver.body = INTERNAL_ANSWER
    subscription = subscription_to(receiver.url(host="rebind.test"))
    dns.answers["rebind.test"] = [PUBLIC, "127.0.0.1"]
    with transaction.atomic():
        envelope = publish(UserRegistered(user_id=uuid.uuid4(), email="r@example.com", method="self"))
    services.deliveries_record([decode(envelope)])
    delivery = WebhookDelivery.objects.get(subscription=subscription)

    # when the delivery is attempted
    sender.attempt(webhook, delivery.pk)

    # then the loopback service was never reached, and nothing of it is stored or shown
    assert receiver.requests == []
    [attempt] = WebhookAttempt.objects.filter(record=delivery)
    assert INTERNAL_ANSWER.decode() not in attempt.response_body
    listed = api_admin.get(f"{WEBHOOKS}/{subscription.pk}/deliveries")
    assert listed.status_code == 200
    assert INTERNAL_ANSWER.decode() not in listed.content.decode()


def settings_in_a_fresh_process(tmp_path, **environment: str) -> subprocess.CompletedProcess:
    """identity_project.settings loaded by a new interpreter, with DEBUG on (development) and
    nothing of WEBHOOK_* set but `environment`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_")}
    env.update(DEBUG="true", VAR_DIR=str(tmp_path), **environment)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    program = "from identity_project import settings; print(settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)"
    return subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_private_targets_are_refused_by_default_even_in_development(tmp_path):
    loaded = settings_in_a_fresh_process(tmp_path)

    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "False"
