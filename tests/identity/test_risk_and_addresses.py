"""Risk scoring (table-driven), IP allow and block lists, credential stuffing, devices."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from identity.models import AuthSession, IPRule
from identity.services import ip_rules, risk
from tests.factories import UserFactory
from tests.identity.support import PASSWORD, api, bearer, login, mark, published_since, types_since

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("factors", "level"),
    [
        ([], "low"),
        (["new_device"], "low"),
        (["new_network"], "low"),
        (["long_inactivity"], "low"),
        (["account_failure_velocity"], "low"),
        (["address_failure_velocity"], "low"),
        (["recently_blocked_address"], "medium"),
        (["recent_token_reuse"], "medium"),
        (["new_device", "new_network"], "medium"),
        (["new_device", "long_inactivity"], "medium"),
        (["account_failure_velocity", "address_failure_velocity"], "medium"),
        (["new_device", "new_network", "account_failure_velocity"], "high"),
        (["recent_token_reuse", "new_device"], "high"),
        (["recently_blocked_address", "recent_token_reuse", "new_network"], "critical"),
        (list(risk.WEIGHTS), "critical"),
    ],
)
def test_each_factor_alone_and_in_combination_gives_the_documented_level(factors, level):
    assessment = risk.score(factors)

    assert assessment.level == level
    assert assessment.score == sum(risk.WEIGHTS[f] for f in factors)
    assert assessment.factors == sorted(factors)


def test_a_sign_in_from_a_new_device_and_network_is_suspicious_and_raises_one_alert(alice):
    assert login(api("198.51.100.10"), alice.email).status_code == 200
    phone = {"email": alice.email, "password": PASSWORD, "device_fingerprint": "new-phone"}
    since = mark()

    first = api("203.0.113.77").post("/api/v1/auth/login", phone, format="json")
    second = api("203.0.113.77").post(
        "/api/v1/auth/login", {**phone, "device_fingerprint": "new-tablet"}, format="json"
    )

    assert (first.status_code, second.status_code) == (200, 200)
    suspicious = [e for e in published_since(since) if e.type == "suspicious_login.detected"]
    assert suspicious[0].data["risk_level"] == "medium"
    assert suspicious[0].data["risk_factors"] == ["new_device", "new_network"]
    alerts = [e for e in published_since(since) if e.type == "security_alert.raised"]
    assert len(alerts) == 1
    assert alerts[0].data["related_event_id"] == suspicious[0].envelope["event_id"]


def test_the_first_sign_in_ever_is_not_suspicious(alice):
    since = mark()

    api().post("/api/v1/auth/login", {"email": alice.email, "password": PASSWORD, "device_fingerprint": "x"})

    assert "suspicious_login.detected" not in types_since(since)


def test_a_critical_sign_in_locks_the_account(alice):
    login(api("198.51.100.10"), alice.email)
    AuthSession.objects.create(
        user=alice,
        status="ended",
        end_reason="token_reuse",
        ended_at=timezone.now(),
        expires_at=timezone.now(),
    )
    ip_rules.ip_rule_add(cidr="203.0.113.5", list="block", expires_at=timezone.now() - timedelta(seconds=1))
    since = mark()

    response = login(api("203.0.113.5"), alice.email)

    assert response.status_code == 423
    locked = [e for e in published_since(since) if e.type == "user.locked"]
    assert locked[0].data["reason"] == "suspicious"


def test_a_blocked_address_is_refused_before_the_password_and_alerts_once(alice):
    ip_rules.ip_rule_add(cidr="192.0.2.0/24", list="block", reason="test")
    since = mark()

    right = login(api("192.0.2.9"), alice.email)
    wrong = login(api("192.0.2.9"), alice.email, "wrong-password")

    assert (right.status_code, wrong.status_code) == (403, 403)
    assert right.json() == wrong.json()
    assert right.json()["error"]["code"] == "ip_blocked"
    failed = [e.data["reason"] for e in published_since(since) if e.type == "user.login_failed"]
    assert failed == ["ip_blocked", "ip_blocked"]
    assert types_since(since).count("security_alert.raised") == 1
    assert login(api("198.51.100.1"), alice.email).status_code == 200


def test_a_user_allow_list_restricts_that_user_to_its_ranges(alice):
    ip_rules.ip_rule_add(cidr="198.51.100.0/24", list="allow", scope="user", user=alice)
    bob = UserFactory(email="bob@example.com")

    assert login(api("198.51.100.20"), alice.email).status_code == 200
    assert login(api("203.0.113.20"), alice.email).status_code == 403
    assert login(api("203.0.113.20"), bob.email).status_code == 200


def test_a_users_own_block_list_refuses_even_where_a_global_allow_matches(alice):
    ip_rules.ip_rule_add(cidr="203.0.113.0/24", list="allow")
    ip_rules.ip_rule_add(cidr="203.0.113.7", list="block", scope="user", user=alice)
    bob = UserFactory(email="bob@example.com")

    refused = login(api("203.0.113.7"), alice.email)

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ip_blocked"
    assert login(api("203.0.113.8"), alice.email).status_code == 200
    assert login(api("203.0.113.7"), bob.email).status_code == 200


def test_a_users_own_allow_list_restricts_them_even_where_a_global_allow_matches(alice):
    ip_rules.ip_rule_add(cidr="203.0.113.0/24", list="allow")
    ip_rules.ip_rule_add(cidr="198.51.100.0/24", list="allow", scope="user", user=alice)

    assert login(api("203.0.113.20"), alice.email).status_code == 403
    assert login(api("198.51.100.20"), alice.email).status_code == 200


def test_a_users_own_allow_list_admits_them_where_a_global_block_matches(alice):
    ip_rules.ip_rule_add(cidr="198.51.100.0/24", list="block")
    ip_rules.ip_rule_add(cidr="198.51.100.20", list="allow", scope="user", user=alice)
    bob = UserFactory(email="bob@example.com")

    assert login(api("198.51.100.20"), alice.email).status_code == 200
    assert login(api("198.51.100.20"), bob.email).status_code == 403


def test_credential_stuffing_from_one_address_blocks_it_for_a_while(settings):
    since = mark()

    statuses = [
        login(api("203.0.113.99"), f"victim{i}@example.com", "guess").status_code
        for i in range(settings.IDENTITY["STUFFING_ACCOUNTS"] + 1)
    ]

    assert statuses[-1] == 403
    rule = IPRule.objects.get(automatic=True)
    assert rule.cidr == "203.0.113.99/32"
    assert rule.expires_at > timezone.now()
    blocked = [e for e in published_since(since) if e.type == "ip_rule.blocklisted"]
    assert len(blocked) == 1
    assert ip_rules.ip_rules_expire_due(now=rule.expires_at) == 1
    assert "ip_rule.removed" in types_since(since)


def test_devices_are_listed_renamed_untrusted_and_revoked_which_ends_their_sessions(alice):
    phone = {"email": alice.email, "password": PASSWORD, "device_fingerprint": "phone"}
    tokens = api().post("/api/v1/auth/login", phone, format="json").json()
    client = bearer(tokens["access"])
    [device] = client.get("/api/v1/me/devices").json()["results"]
    since = mark()

    renamed = client.patch(f"/api/v1/me/devices/{device['device_id']}", {"name": "my phone"}, format="json")
    trusted = client.post(f"/api/v1/me/devices/{device['device_id']}/trust")
    untrusted = client.post(f"/api/v1/me/devices/{device['device_id']}/untrust")
    other = bearer(login(api(), alice.email).json()["access"])
    revoked = other.delete(f"/api/v1/me/devices/{device['device_id']}")

    assert renamed.json()["name"] == "my phone"
    assert trusted.json()["trusted"] is True
    assert untrusted.json()["trusted"] is False
    assert revoked.status_code == 204
    assert client.get("/api/v1/me").status_code == 401
    kinds = [t for t in types_since(since) if t.startswith("device")]
    assert kinds == ["device.updated", "device.trusted", "device.untrusted", "device.revoked"]
    assert published_since(since)[-1].data["sessions_terminated"] == 1
