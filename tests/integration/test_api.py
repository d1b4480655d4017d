"""The webhook API of API.md: subscriptions, secrets shown once and rotated, deliveries, redeliver, replay."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from identity.events import UserRegistered
from identity.models import User
from identity_project.eventbus.envelope import decode
from identity_project.eventbus.publisher import publish
from integration import selectors, services, signing
from integration.models import WebhookDelivery, WebhookSubscription
from tests.factories import UserFactory
from tests.integration.conftest import Received, verify
from tests.support.admin_site import admin_sign_in

pytestmark = pytest.mark.django_db

WEBHOOKS = "/api/v1/integration/webhooks"


@pytest.fixture
def admin_client(client, webhook_settings):
    admin_sign_in(
        client,
        User.objects.create_superuser("root@example.com", "a-long-admin-password"),
        "a-long-admin-password",
    )
    return client


def create(client, **body):
    return client.post(
        WEBHOOKS,
        {"url": "http://127.0.0.1:9/hook", "event_types": ["identity.user.*"], **body},
        content_type="application/json",
    )


def test_a_subscription_shows_its_secret_once_and_lists_without_it(admin_client):
    # when a subscription is created
    response = create(admin_client, is_siem=True)

    # then the answer carries the secret, the list and the detail do not
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert (created["is_active"], created["circuit_state"], created["event_types"]) == (
        True,
        "closed",
        ["identity.user.*"],
    )
    listed = admin_client.get(WEBHOOKS).json()
    assert listed["count"] == 1
    assert "secret" not in listed["results"][0]
    assert "secret" not in admin_client.get(f"{WEBHOOKS}/{created['id']}").json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"url": "http://127.0.0.1:8000/hook"}, "url", id="loopback"),
        pytest.param({"url": "http://10.1.2.3/hook"}, "url", id="private"),
        pytest.param({"url": "http://169.254.169.254/latest"}, "url", id="link-local-metadata"),
        pytest.param({"url": "http://[::1]/hook"}, "url", id="ipv6-loopback"),
        pytest.param({"url": "ftp://example.com/hook"}, "url", id="not-http"),
        pytest.param({"event_types": ["identity.nothing.*"]}, "event_types", id="pattern-matching-nothing"),
        pytest.param({"colour": "blue"}, "colour", id="unknown-field"),
    ],
)
def test_targets_on_private_networks_and_bad_filters_are_refused(admin_client, settings, body, field):
    # given a production setting: private targets are not allowed
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    # when such a subscription is asked for
    response = create(admin_client, **{"url": "https://93.184.216.34/hook", **body})

    # then it is refused with the error shape of API.md, and nothing exists
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["fields"]
    assert not WebhookSubscription.objects.exists()


def test_a_public_address_is_accepted_when_private_targets_are_not_allowed(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    response = create(admin_client, url="https://93.184.216.34/hook")

    assert response.status_code == 201, response.content


def test_a_subscription_is_updated_and_deleted(admin_client):
    subscription_id = create(admin_client).json()["id"]

    patched = admin_client.patch(
        f"{WEBHOOKS}/{subscription_id}",
        {"event_types": ["identity.role.*", "identity.user.registered"], "is_active": False},
        content_type="application/json",
    )
    deleted = admin_client.delete(f"{WEBHOOKS}/{subscription_id}")

    assert patched.status_code == 200, patched.content
    assert (patched.json()["event_types"], patched.json()["is_active"]) == (
        ["identity.role.*", "identity.user.registered"],
        False,
    )
    assert deleted.status_code == 204
    assert admin_client.get(f"{WEBHOOKS}/{subscription_id}").status_code == 404


def test_a_rotated_secret_signs_beside_the_old_one_until_the_grace_period_ends(admin_client):
    # given a subscription and its first secret
    created = create(admin_client).json()

    # when its secret is rotated
    rotated = admin_client.post(f"{WEBHOOKS}/{created['id']}/rotate-secret").json()

    # then a request is signed with both, each of which verifies it
    subscription = WebhookSubscription.objects.get(pk=created["id"])
    in_use = selectors.subscription_signing_secrets(subscription)
    body = b'{"hello":"world"}'
    headers = signing.headers(secrets_in_use=in_use, webhook_id="msg_1", timestamp=1_700_000_000, body=body)
    request = Received("/hook", headers, body)
    assert rotated["secret"] != created["secret"]
    assert in_use == [rotated["secret"], created["secret"]]
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify(created["secret"], request)
    assert verify(rotated["secret"], request)

    # and after the grace period only the new one signs
    subscription.previous_secret_expires_at = timezone.now() - dt.timedelta(seconds=1)
    assert selectors.subscription_signing_secrets(subscription) == [rotated["secret"]]


def test_the_api_needs_the_manage_webhooks_permission(client, webhook_settings):
    admin_sign_in(
        client,
        UserFactory(email="someone@example.com", password="a-long-user-password", staff=True),
        "a-long-user-password",
    )

    response = client.get(WEBHOOKS)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def recorded_delivery(subscription: WebhookSubscription) -> WebhookDelivery:
    with transaction.atomic():
        envelope = publish(UserRegistered(user_id=uuid.uuid4(), email="a@example.com", method="self"))
    services.deliveries_record([decode(envelope)])
    return WebhookDelivery.objects.get(subscription=subscription, event_id=envelope["event_id"])


def test_deliveries_are_listed_with_their_attempts_and_can_be_redelivered_or_replayed(admin_client):
    # given a subscription with a failed delivery
    subscription = WebhookSubscription.objects.get(pk=create(admin_client).json()["id"])
    delivery = recorded_delivery(subscription)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=3, last_error="HTTP 500")

    # when it is listed, redelivered, and the subscription replayed
    listed = admin_client.get(f"{WEBHOOKS}/{subscription.pk}/deliveries").json()
    redelivered = admin_client.post(f"{WEBHOOKS}/{subscription.pk}/deliveries/{delivery.pk}/redeliver")
    replayed = admin_client.post(
        f"{WEBHOOKS}/{subscription.pk}/replay",
        {"since": (delivery.occurred_at - dt.timedelta(minutes=1)).isoformat()},
        content_type="application/json",
    )

    # then
    assert listed["count"] == 1
    assert (listed["results"][0]["status"], listed["results"][0]["last_error"]) == ("failed", "HTTP 500")
    assert redelivered.status_code == 202
    assert (redelivered.json()["status"], redelivered.json()["attempts"]) == ("pending", 0)
    assert replayed.status_code == 202
    assert replayed.json() == {"replayed": 1}
    unknown = admin_client.post(f"{WEBHOOKS}/{subscription.pk}/deliveries/{delivery.pk + 1000}/redeliver")
    assert unknown.status_code == 404
