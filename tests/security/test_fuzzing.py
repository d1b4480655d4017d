"""The API fuzzed from its own OpenAPI schema (schemathesis), in-process against the WSGI app.

Every operation of /api/schema/ gets generated requests, anonymous and signed in as an
administrator holding every permission. Whatever comes in, the answer is never a 5xx, never
shows a traceback, and every 4xx is the documented error shape. The number of examples is
bounded (and derandomised, so a CI run is reproducible) to keep the suite short.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings

from identity.models import Role
from identity.services import roles
from identity.services.accounts import user_register
from identity.services.login import login
from identity_project.wsgi import application
from tests.conftest import forget_this_runs_cache_keys
from tests.identity.support import PASSWORD

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)

FUZZ = settings(
    max_examples=8,
    derandomize=True,
    phases=[Phase.generate],
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
LEAKS = ("Traceback (most recent call last)", 'File "/', "django.db.utils", "psycopg")


@pytest.fixture
def unthrottled(redis_database):
    """Each example starts with no throttle counts: an example that hits a 429 on its first call
    and not on its replay (or the other way round) would make Hypothesis call the test flaky."""
    return lambda: forget_this_runs_cache_keys(redis_database)


@pytest.fixture
def same_connection_for_every_request():
    """The test's transaction holds the database connection: the WSGI handler must not close it
    between requests (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def administrator(db, same_connection_for_every_request):
    user = user_register(email="fuzz-admin@example.com", password=PASSWORD)
    roles.role_assign(user=user, role=Role.objects.get(name="administrator"))
    return user


@pytest.fixture
def administrator_token(administrator) -> str:
    """One session per operation (a fuzzed logout ends it, and the examples after it are 401s)."""
    signed_in = login(email=administrator.email, password=PASSWORD, ip_address="127.0.0.1", user_agent="fuzz")
    return signed_in.tokens.access


def assert_sound(response) -> None:
    """No 5xx, nothing of a traceback, every error in the shape of API.md, Retry-After on a 429."""
    body = response.content.decode(errors="replace")
    assert response.status_code < 500, f"{response.status_code}: {body[:500]}"
    assert not any(leak in body for leak in LEAKS), body[:500]
    if response.status_code >= 400:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        assert isinstance(payload, dict), body[:500]
        assert set(payload) == {"error"}, body[:500]
        error = payload["error"]
        assert set(error) == {"code", "message", "fields"}, body[:500]
        assert isinstance(error["code"], str)
        assert isinstance(error["message"], str)
        assert isinstance(error["fields"], dict)
    if response.status_code == 429:
        assert "retry-after" in {name.lower() for name in response.headers}


@dataclass
class Answer:
    status_code: int
    content: bytes
    headers: dict = field(default_factory=dict)


@pytest.mark.parametrize(
    "answer",
    [
        Answer(500, b'{"error": {"code": "server_error", "message": "x", "fields": {}}}'),
        Answer(400, b'{"detail": "Bad request."}'),
        Answer(400, b'{"error": {"code": "x", "message": "y"}}'),
        Answer(
            404,
            b'{"error": {"code": "x", "message": "Traceback (most recent call last): ...", "fields": {}}}',
        ),
        Answer(429, b'{"error": {"code": "throttled", "message": "Slow down.", "fields": {}}}'),
        Answer(403, b"<h1>Forbidden</h1>"),
    ],
)
def test_the_soundness_check_catches_what_it_is_for(answer):
    with pytest.raises(AssertionError):
        assert_sound(answer)


def test_the_soundness_check_passes_a_sound_answer():
    assert_sound(
        Answer(429, b'{"error": {"code": "throttled", "message": "m", "fields": {}}}', {"Retry-After": "9"})
    )


@schema.parametrize()
@FUZZ
def test_fuzzed_requests_get_sound_answers_anonymous_and_signed_in(case, administrator_token, unthrottled):
    # one generated request, sent without credentials and then as an administrator
    unthrottled()
    anonymous = case.call()
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {administrator_token}"}
    signed_in = case.call()

    assert_sound(anonymous)
    assert_sound(signed_in)


@schema.include(path_regex=r"^/api/v1/auth/").parametrize()
@settings(FUZZ, phases=[Phase.explicit])
def test_the_sign_in_endpoints_answer_soundly_to_schemathesis_edge_cases(
    case, db, same_connection_for_every_request, unthrottled
):
    # the open door: schemathesis' boundary values and malformed bodies (its explicit examples,
    # about 40 per operation; too slow to run for every operation, found the reset-link 500)
    unthrottled()

    assert_sound(case.call())
