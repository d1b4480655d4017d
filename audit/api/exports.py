"""POST audit/exports, GET audit/exports/{id}, GET audit/exports/{id}/download."""

import datetime as dt
from pathlib import Path

from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.api.serializers import EntryFilterSerializer
from audit.models import AuditExport
from audit.selectors import export_get
from audit.services.exports import export_start
from identity_project.api_errors import ApiError
from identity_project.permissions import has_permission

ExportAuditLog = has_permission("audit.export_auditlog")


class ExportOutputSerializer(serializers.ModelSerializer):
    """`status` pending: the file is being written (row_count, sha256 and size are 0 or empty and
    `download` is null until it is ready); ready: `download` is where to fetch it; failed:
    `error` names why, and nothing is fetched."""

    download = serializers.SerializerMethodField()

    class Meta:
        model = AuditExport
        fields = (
            "id",
            "status",
            "format",
            "filters",
            "row_count",
            "sha256",
            "size",
            "requested_by",
            "created_at",
            "finished_at",
            "error",
            "download",
        )

    def get_download(self, export: AuditExport) -> str | None:
        if export.status != AuditExport.Status.READY:
            return None
        return f"/api/v1/audit/exports/{export.id}/download"


def _found(export_id) -> AuditExport:
    export = export_get(export_id=export_id)
    if export is None:
        raise ApiError("No such export.", code="not_found", status_code=404)
    return export


class ExportCreateInputSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=AuditExport.Format.choices, default=AuditExport.Format.JSONL)
    filters = serializers.DictField(required=False, default=dict)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        return attrs

    def validate_filters(self, value):
        filters = EntryFilterSerializer(data=value)
        filters.is_valid(raise_exception=True)
        return {
            name: given.isoformat() if isinstance(given, dt.datetime) else given
            for name, given in filters.validated_data.items()
        }


class ExportCreateApi(APIView):
    """Export the entries matching the filters, oldest first, as JSONL or CSV; emits
    AuditLogCreated once the file is written. Up to AUDIT_EXPORT_INLINE_ROWS entries the file is
    written in the request: 201, ready to download. A larger export is written by a task: 202
    with `status: pending` and `Location` (GET audit/exports/{id}), to poll until `status` is
    ready (then `download`) or failed."""

    permission_classes = [ExportAuditLog]

    @extend_schema(
        request=ExportCreateInputSerializer,
        responses={
            201: OpenApiResponse(ExportOutputSerializer, description="Written at once: ready to download."),
            202: OpenApiResponse(
                ExportOutputSerializer,
                description="Larger than AUDIT_EXPORT_INLINE_ROWS: written by a task. Poll the "
                "`Location` (GET audit/exports/{id}) until `status` is ready, then fetch `download`.",
            ),
        },
    )
    def post(self, request):
        given = ExportCreateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        export = export_start(
            requested_by=request.user.pk,
            format=given.validated_data["format"],
            filters=given.validated_data["filters"],
        )
        data = ExportOutputSerializer(export).data
        if export.status == AuditExport.Status.PENDING:
            location = reverse("audit-export", kwargs={"export_id": export.id})
            return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})
        return Response(data, status=status.HTTP_201_CREATED)


class ExportDetailApi(APIView):
    permission_classes = [ExportAuditLog]

    @extend_schema(responses=ExportOutputSerializer)
    def get(self, request, export_id):
        return Response(ExportOutputSerializer(_found(export_id)).data)


class ExportDownloadApi(APIView):
    """The export's file, streamed in blocks (a FileResponse is a StreamingHttpResponse)."""

    permission_classes = [ExportAuditLog]
    content_types = {AuditExport.Format.JSONL: "application/x-ndjson", AuditExport.Format.CSV: "text/csv"}

    @extend_schema(
        responses={
            (200, "application/octet-stream"): bytes,
            409: OpenApiResponse(description="`export_not_ready`: pending (try again later) or failed."),
            410: OpenApiResponse(description="`gone`: the file was removed."),
        }
    )
    def get(self, request, export_id):
        export = _found(export_id)
        if export.status != AuditExport.Status.READY:
            raise ApiError(
                f"The export is {export.status}: nothing to download.",
                code="export_not_ready",
                status_code=409,
            )
        path = Path(export.path)
        if not path.exists():
            raise ApiError("The export's file is gone.", code="gone", status_code=410)
        response = FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=f"audit-{export.id}.{export.format}",
            content_type=self.content_types[export.format],
        )
        response["X-Content-SHA256"] = export.sha256
        return response
