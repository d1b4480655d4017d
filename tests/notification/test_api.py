"""The API of the signed-in user: GET me/notifications, GET/PUT me/notification-preferences."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from identity.models import User
from notification.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOTIFICATIONS = "/api/v1/me/notifications"
PREFERENCES = "/api/v1/me/notification-preferences"


@pytest.fixture
def user() -> User:
    return UserFactory(email="sam@example.com")


@pytest.fixture
def client(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def notice(user_id, title: str, minutes_ago: int) -> Notification:
    return Notification.objects.create(
        user_id=user_id,
        event_id=uuid.uuid4(),
        event_type="identity.password.changed",
        category="security",
        title=title,
        body="...",
        created_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )


def test_notifications_are_the_callers_own_newest_first_and_paginated(client, user):
    for i in range(3):
        notice(user.pk, f"mine {i}", minutes_ago=10 - i)
    notice(uuid.uuid4(), "someone else's", minutes_ago=0)

    response = client.get(NOTIFICATIONS, {"page_size": 2})

    assert response.status_code == 200
    assert response.data["count"] == 3
    assert [n["title"] for n in response.data["results"]] == ["mine 2", "mine 1"]
    assert response.data["next"]
    assert set(response.data["results"][0]) == {
        "id",
        "event_id",
        "event_type",
        "category",
        "title",
        "body",
        "created_at",
        "read_at",
    }


def test_notifications_need_a_signed_in_user():
    response = APIClient().get(NOTIFICATIONS)

    assert response.status_code in (401, 403)
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_preferences_list_every_category_on_by_default_and_say_which_are_mandatory(client):
    response = client.get(PREFERENCES)

    assert response.status_code == 200
    by_category = {p["category"]: p for p in response.data["preferences"]}
    assert set(by_category) == {"security_alerts", "security", "account", "access", "admin"}
    assert all(p["email"] and p["in_app"] for p in by_category.values())
    assert [c for c, p in by_category.items() if p["mandatory"]] == ["security_alerts"]


def test_a_category_can_be_turned_off(client):
    response = client.put(
        PREFERENCES, {"preferences": [{"category": "access", "email": False, "in_app": True}]}, format="json"
    )

    assert response.status_code == 200
    access = next(p for p in client.get(PREFERENCES).data["preferences"] if p["category"] == "access")
    assert (access["email"], access["in_app"]) == (False, True)


def test_mandatory_security_alerts_cannot_be_turned_off(client):
    response = client.put(
        PREFERENCES,
        {"preferences": [{"category": "security_alerts", "email": False, "in_app": True}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "mandatory_category"
    alerts = next(
        p for p in client.get(PREFERENCES).data["preferences"] if p["category"] == "security_alerts"
    )
    assert alerts["email"] is True


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"preferences": [{"category": "access", "email": False, "in_app": True, "sms": 1}]}, id="field"
        ),
        pytest.param({"preferences": [{"category": "nope", "email": False, "in_app": True}]}, id="category"),
        pytest.param({"preferences": []}, id="empty"),
        pytest.param({"prefs": []}, id="unknown-top-level"),
    ],
)
def test_invalid_preferences_are_refused_with_the_error_shape(client, body):
    response = client.put(PREFERENCES, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
