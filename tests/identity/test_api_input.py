"""Bad input gets the documented 4xx error shape and changes nothing; throttles answer 429."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from identity.api.throttles import AuthAccountThrottle
from identity.models import User
from identity.network import _trusted_networks, client_ip
from identity_project.eventbus.models import OutboxEvent
from tests.identity.support import PASSWORD, api, login

pytestmark = pytest.mark.django_db


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert "Traceback" not in response.content.decode()
    return body["error"]


JSON = "application/json"
BAD_REGISTRATIONS = [
    pytest.param("{}", JSON, 400, "validation_error", id="missing-fields"),
    pytest.param(
        '{"email": "a@example.com", "password": ', JSON, 400, "malformed_request", id="malformed-json"
    ),
    pytest.param('{"email": ["a"], "password": 12}', JSON, 400, "validation_error", id="wrong-types"),
    pytest.param('["a", "b"]', JSON, 400, "validation_error", id="not-an-object"),
    pytest.param(
        '{"email": "a@example.com", "password": "Correct-Horse-Battery-9", "is_staff": true}',
        JSON,
        400,
        "validation_error",
        id="unknown-field",
    ),
    pytest.param("email=a@example.com", "text/plain", 415, "unsupported_media_type", id="wrong-content-type"),
    pytest.param('{"email": "' + "a" * 100_000 + '"}', JSON, 413, "request_too_large", id="100kb"),
    pytest.param('{"email": "not-an-email", "password": "x"}', JSON, 400, "validation_error", id="bad-email"),
]


@pytest.mark.parametrize(("body", "content_type", "status", "code"), BAD_REGISTRATIONS)
def test_bad_registration_input_is_refused_in_the_error_shape_and_changes_nothing(
    body, content_type, status, code
):
    users, events = User.objects.count(), OutboxEvent.objects.count()

    response = api().generic("POST", "/api/v1/auth/register", body, content_type=content_type)

    assert assert_error_shape(response, status)["code"] == code
    assert (User.objects.count(), OutboxEvent.objects.count()) == (users, events)


def test_a_weak_password_names_the_field_and_creates_nothing():
    response = api().post(
        "/api/v1/auth/register", {"email": "w@example.com", "password": "123"}, format="json"
    )

    error = assert_error_shape(response, 400)
    assert "password" in error["fields"]
    assert not User.objects.filter(email="w@example.com").exists()


def test_a_taken_email_is_a_conflict(alice):
    response = api().post(
        "/api/v1/auth/register", {"email": alice.email, "password": PASSWORD}, format="json"
    )

    assert assert_error_shape(response, 409)["code"] == "email_taken"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer not-a-jwt", id="garbage"),
        pytest.param("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", id="alg-none"),
        pytest.param("Basic YTpi", id="wrong-scheme"),
    ],
)
def test_bad_tokens_are_401_in_the_error_shape(header):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert_error_shape(client.get("/api/v1/me"), 401)


def test_too_many_attempts_for_one_account_are_throttled_with_retry_after(alice, monkeypatch):
    monkeypatch.setattr(AuthAccountThrottle, "rate", "3/min", raising=False)

    statuses = [login(api(f"192.0.2.{i}"), alice.email, "wrong").status_code for i in range(4)]

    assert statuses == [401, 401, 401, 429]
    throttled = login(api("192.0.2.50"), alice.email)
    assert_error_shape(throttled, 429)
    assert int(throttled["Retry-After"]) > 0


def test_the_client_address_ignores_forwarded_headers_unless_a_trusted_proxy_sent_them(settings):
    factory = RequestFactory()
    spoofed = factory.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="10.0.0.1")
    proxied = factory.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.1.2.4")

    assert client_ip(spoofed) == "198.51.100.7"
    assert client_ip(proxied) == "10.1.2.3"
    settings.IDENTITY = {**settings.IDENTITY, "TRUSTED_PROXIES": ["10.0.0.0/8"]}
    _trusted_networks.cache_clear()
    try:
        assert client_ip(proxied) == "203.0.113.9"
        assert client_ip(spoofed) == "198.51.100.7"
    finally:
        _trusted_networks.cache_clear()
