"""audit API routes, mounted under /api/v1/ (paths as in ../shared/API.md)."""

from django.urls import path

from audit.api import events, exports, security, verify

urlpatterns = [
    path("audit/events", events.AuditEventListApi.as_view(), name="audit-events"),
    path("audit/exports", exports.ExportCreateApi.as_view(), name="audit-export-create"),
    path("audit/exports/<uuid:export_id>", exports.ExportDetailApi.as_view(), name="audit-export"),
    path(
        "audit/exports/<uuid:export_id>/download",
        exports.ExportDownloadApi.as_view(),
        name="audit-export-download",
    ),
    path("audit/verify", verify.AuditVerifyApi.as_view(), name="audit-verify"),
    path("audit/security-incidents", security.SecurityIncidentListApi.as_view(), name="audit-security"),
]
