"""The OpenAPI schema at /api/schema/ validates, with no warning, and covers API.md's endpoints."""

from __future__ import annotations

from io import StringIO

import pytest
import yaml
from django.core.management import call_command

# Every path of ../shared/API.md, as the schema names them.
API_MD = {
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/mfa/select",
    "/api/v1/auth/mfa/verify",
    "/api/v1/auth/passkey/options",
    "/api/v1/auth/passkey/login",
    "/api/v1/auth/reauthenticate",
    "/api/v1/auth/token/refresh",
    "/api/v1/auth/logout",
    "/api/v1/auth/password/reset",
    "/api/v1/auth/password/reset/confirm",
    "/api/v1/me",
    "/api/v1/me/password",
    "/api/v1/me/sessions",
    "/api/v1/me/sessions/{session_id}",
    "/api/v1/me/devices",
    "/api/v1/me/devices/{device_id}",
    "/api/v1/me/devices/{device_id}/trust",
    "/api/v1/me/devices/{device_id}/untrust",
    "/api/v1/me/mfa/devices",
    "/api/v1/me/mfa/devices/{device_id}",
    "/api/v1/me/mfa/devices/{device_id}/verify",
    "/api/v1/me/mfa/backup-codes",
    "/api/v1/me/notifications",
    "/api/v1/me/notification-preferences",
    "/api/v1/me/elevation-requests",
    "/api/v1/admin/users",
    "/api/v1/admin/users/{user_id}",
    "/api/v1/admin/users/{user_id}/lock",
    "/api/v1/admin/users/{user_id}/unlock",
    "/api/v1/admin/users/{user_id}/deactivate",
    "/api/v1/admin/users/{user_id}/reactivate",
    "/api/v1/admin/users/{user_id}/roles",
    "/api/v1/admin/users/{user_id}/roles/{role_id}",
    "/api/v1/admin/users/{user_id}/permissions",
    "/api/v1/admin/users/{user_id}/permissions/{permission_id}",
    "/api/v1/admin/roles",
    "/api/v1/admin/roles/{role_id}",
    "/api/v1/admin/roles/{role_id}/clone",
    "/api/v1/admin/roles/{role_id}/permissions",
    "/api/v1/admin/roles/{role_id}/permissions/{permission_id}",
    "/api/v1/admin/permissions",
    "/api/v1/admin/permissions/{permission_id}",
    "/api/v1/admin/elevation-requests",
    "/api/v1/admin/elevation-requests/{request_id}/approve",
    "/api/v1/admin/elevation-requests/{request_id}/deny",
    "/api/v1/admin/ip-rules",
    "/api/v1/admin/sessions",
    "/api/v1/admin/sessions/{session_id}",
    "/api/v1/audit/events",
    "/api/v1/audit/exports",
    "/api/v1/audit/exports/{export_id}",
    "/api/v1/audit/exports/{export_id}/download",
    "/api/v1/audit/verify",
    "/api/v1/integration/webhooks",
    "/api/v1/integration/webhooks/{id}",
    "/api/v1/integration/webhooks/{id}/deliveries",
    "/api/v1/integration/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    "/api/v1/events/catalog",
    "/api/v1/ops/pipeline",
    "/api/v1/ops/dead-letters",
    "/api/v1/ops/dead-letters/{id}/replay",
    "/api/v1/ops/dead-letters/{id}/discard",
}
# Endpoints of API.md not built yet (none now; kept so a new one is listed on purpose).
NOT_YET_BUILT: set[str] = set()


# The sensitive changes of API.md's "Re-authentication and passkeys", as (path, method).
NEEDS_REAUTHENTICATION = {
    ("/api/v1/me/mfa/devices", "post"),
    ("/api/v1/me/mfa/devices/{device_id}", "delete"),
    ("/api/v1/me/mfa/backup-codes", "post"),
    ("/api/v1/me/devices/{device_id}/trust", "post"),
    ("/api/v1/me", "patch"),
}


def validated_schema() -> dict:
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return yaml.safe_load(out.getvalue())


@pytest.mark.django_db
def test_the_schema_validates_without_warnings_and_names_every_endpoint_of_api_md():
    paths = set(validated_schema()["paths"])

    assert API_MD - paths == set()
    assert NOT_YET_BUILT & paths == set(), "built now: remove it from NOT_YET_BUILT and add it to API_MD"


@pytest.mark.django_db
def test_the_schema_documents_re_authentication_and_the_errors_it_answers():
    paths = validated_schema()["paths"]

    reauthenticate = paths["/api/v1/auth/reauthenticate"]["post"]["responses"]
    assert {"204", "401", "423", "429"} <= set(reauthenticate)
    for path, method in NEEDS_REAUTHENTICATION:
        refused = paths[path][method]["responses"]["403"]
        assert "reauthentication_required" in refused["description"], (path, method)
        assert refused["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


@pytest.mark.django_db
def test_every_operation_documents_the_503_of_an_unavailable_database():
    paths = validated_schema()["paths"]

    for path, operations in paths.items():
        for method, operation in operations.items():
            unavailable = operation["responses"]["503"]
            assert unavailable["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }, (path, method)
            assert "Retry-After" in unavailable["headers"], (path, method)
