"""Token refreshes have a rate of their own per client address, apart from the sign-in's: an office
behind one address that refreshes its tokens does not use up the sign-ins of everyone there, and a
refresh beyond its rate answers 429 in the error shape and changes nothing."""

from __future__ import annotations

import pytest

from identity.api.throttles import AuthIpThrottle, RefreshIpThrottle
from tests.identity.support import api, login

pytestmark = pytest.mark.django_db(transaction=True)

REFRESH = "/api/v1/auth/token/refresh"
OFFICE = "192.0.2.77"


def refresh(refresh_token: str):
    return api(OFFICE).post(REFRESH, {"refresh": refresh_token}, format="json")


def test_refreshes_from_one_address_do_not_use_up_its_sign_ins(alice, monkeypatch):
    monkeypatch.setattr(AuthIpThrottle, "rate", "3/min", raising=False)
    token = login(api(OFFICE), alice.email).json()["refresh"]

    statuses = []
    for _ in range(5):
        answer = refresh(token)
        statuses.append(answer.status_code)
        token = answer.json().get("refresh", token)

    assert statuses == [200] * 5
    assert login(api(OFFICE), alice.email).status_code == 200


def test_a_refresh_beyond_its_rate_is_429_with_retry_after_and_its_token_still_works(alice, monkeypatch):
    monkeypatch.setattr(RefreshIpThrottle, "rate", "2/min", raising=False)
    token = login(api(OFFICE), alice.email).json()["refresh"]
    for _ in range(2):
        token = refresh(token).json()["refresh"]

    throttled = refresh(token)

    assert throttled.status_code == 429
    assert set(throttled.json()["error"]) == {"code", "message", "fields"}
    assert 0 < int(throttled["Retry-After"]) <= 60
    monkeypatch.setattr(RefreshIpThrottle, "rate", "100/min", raising=False)
    assert refresh(token).status_code == 200  # the throttled attempt did not spend the token
