"""JWT attacks on the API: every forged, stale or misused token is refused with 401 in the error shape.

The tokens are made by hand (PyJWT, simplejwt's own dependency) from a real sign-in's claims, so
each attack changes exactly one thing about an otherwise good token.
"""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from django.conf import settings

from identity.models import AuthSession, User
from identity.services.accounts import user_register
from tests.identity.support import PASSWORD, api, bearer, login

pytestmark = pytest.mark.django_db

OTHER_KEY = "a-key-that-is-not-the-platforms-but-just-as-long-0123456789"


def _segment(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def unsigned(claims: dict, alg: str = "none") -> str:
    """`alg: none` (and its spellings): a token that claims to need no signature."""
    return f"{_segment({'alg': alg, 'typ': 'JWT'})}.{_segment(claims)}."


def signed(claims: dict, key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)


def tampered(token: str, **changes) -> str:
    """The payload changed, the original signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{_segment(claims_of(token) | changes)}.{signature}"


def assert_refused(response) -> None:
    assert response.status_code == 401, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert "Traceback" not in response.content.decode()


def me(access: str):
    return bearer(access).get("/api/v1/me")


def refresh(token: str):
    return api().post("/api/v1/auth/token/refresh", {"refresh": token}, format="json")


@pytest.fixture
def alice():
    return user_register(email="alice@example.com", password=PASSWORD)


@pytest.fixture
def tokens(alice) -> dict:
    return login(api(), alice.email).json()


def test_the_genuine_tokens_work(tokens):
    # the baseline every attack below departs from
    assert me(tokens["access"]).status_code == 200
    assert refresh(tokens["refresh"]).status_code == 200


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused_for_access_and_refresh(tokens, alg):
    assert_refused(me(unsigned(claims_of(tokens["access"]), alg)))
    assert_refused(refresh(unsigned(claims_of(tokens["refresh"]), alg)))


def test_a_token_signed_with_another_key_is_refused(tokens):
    assert_refused(me(signed(claims_of(tokens["access"]), key=OTHER_KEY)))
    assert_refused(refresh(signed(claims_of(tokens["refresh"]), key=OTHER_KEY)))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the test key is short
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_the_right_key_under_another_algorithm_is_refused(tokens, algorithm):
    # only HS256 is accepted: a verifier that trusts the header's alg could be led elsewhere
    assert_refused(me(signed(claims_of(tokens["access"]), algorithm=algorithm)))
    assert_refused(refresh(signed(claims_of(tokens["refresh"]), algorithm=algorithm)))


def test_a_payload_changed_under_a_kept_signature_is_refused(tokens):
    other = user_register(email="mallory@example.com", password=PASSWORD)

    assert_refused(me(tampered(tokens["access"], sub=str(other.id))))
    assert_refused(me(tampered(tokens["access"], exp=int(time.time()) + 3600 * 24 * 365)))
    assert_refused(refresh(tampered(tokens["refresh"], exp=int(time.time()) + 3600 * 24 * 365)))


def test_an_expired_token_is_refused_though_its_signature_and_session_are_good(tokens):
    past = int(time.time()) - 60

    assert_refused(me(signed(claims_of(tokens["access"]) | {"exp": past})))
    assert_refused(refresh(signed(claims_of(tokens["refresh"]) | {"exp": past})))


def test_a_well_signed_token_naming_another_users_session_is_refused(alice, tokens):
    # even with the key, the session named must belong to the subject
    other = user_register(email="mallory@example.com", password=PASSWORD)
    forged = signed(claims_of(tokens["access"]) | {"sub": str(other.id)})

    assert_refused(me(forged))


def test_the_tokens_of_a_deleted_user_are_refused(alice, tokens):
    User.objects.filter(pk=alice.pk).delete()

    assert_refused(me(tokens["access"]))
    assert_refused(refresh(tokens["refresh"]))


def test_an_access_token_is_no_refresh_token_and_the_other_way_round(tokens):
    assert_refused(refresh(tokens["access"]))
    assert_refused(me(tokens["refresh"]))
    # the session survives such misuse: the genuine pair still works
    assert me(tokens["access"]).status_code == 200


def test_a_replayed_refresh_token_is_refused_and_ends_the_whole_session(tokens):
    rotated = refresh(tokens["refresh"]).json()

    replayed = refresh(tokens["refresh"])

    assert_refused(replayed)
    assert replayed.json()["error"]["code"] == "token_reused"
    assert_refused(refresh(rotated["refresh"]))
    assert_refused(me(rotated["access"]))
    assert AuthSession.objects.get(pk=tokens["session_id"]).status != AuthSession.Status.ACTIVE


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Bearer a.b", "Bearer a.b.c", "Bearer ....", "Basic Zm9vOmJhcg==", "Bearer \u00e9"],
)
def test_garbage_in_the_authorization_header_is_refused_without_a_500(header):
    response = api().get("/api/v1/me", HTTP_AUTHORIZATION=header)

    assert_refused(response)
