"""The Django admin of webhooks: create (secret shown once), rotate, replay, redeliver."""

from __future__ import annotations

import pytest
from django.urls import reverse

from identity.models import User
from integration import services
from integration.models import WebhookSubscription
from tests.support.admin_site import admin_sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, webhook_settings):
    admin_sign_in(
        client,
        User.objects.create_superuser("root@example.com", "a-long-admin-password"),
        "a-long-admin-password",
    )
    return client


def test_an_admin_creates_a_subscription_and_sees_its_secret_once(admin_client):
    response = admin_client.post(
        reverse("admin:integration_webhooksubscription_add"),
        {
            "url": "http://127.0.0.1:9/hook",
            "event_types": '["identity.user.*"]',
            "payload": "event",
            "is_active": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret in response.content.decode()
    assert subscription.event_types == ["identity.user.*"]
    assert (
        subscription.secret
        not in admin_client.get(reverse("admin:integration_webhooksubscription_changelist")).content.decode()
    )


def test_an_admin_replays_a_subscription_from_a_point_in_time(admin_client):
    subscription, _ = services.subscription_create(url="http://127.0.0.1:9/hook", event_types=["*"])
    changelist = reverse("admin:integration_webhooksubscription_changelist")

    form = admin_client.post(changelist, {"action": "replay", "_selected_action": [str(subscription.pk)]})
    done = admin_client.post(
        changelist,
        {
            "action": "replay",
            "_selected_action": [str(subscription.pk)],
            "apply": "1",
            "since_0": "2026-01-01",
            "since_1": "00:00:00",
        },
        follow=True,
    )

    assert form.status_code == 200
    assert "since" in form.content.decode()
    assert "0 deliveries replayed" in done.content.decode()
