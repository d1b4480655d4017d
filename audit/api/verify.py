"""GET audit/verify: walk the hash chains (or the part between two ids) and report the first bad entry."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.selectors import chain_verify
from identity_project.permissions import has_permission


class VerifyInputSerializer(serializers.Serializer):
    from_id = serializers.IntegerField(required=False, min_value=1)
    to_id = serializers.IntegerField(required=False, min_value=1)


class VerifyOutputSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_bad_id = serializers.IntegerField(allow_null=True)
    problems = serializers.ListField(child=serializers.CharField())


class AuditVerifyApi(APIView):
    permission_classes = [has_permission("audit.view_auditlog")]

    @extend_schema(parameters=[VerifyInputSerializer], responses=VerifyOutputSerializer)
    def get(self, request):
        given = VerifyInputSerializer(data=request.query_params.dict())
        given.is_valid(raise_exception=True)
        result = chain_verify(
            first_id=given.validated_data.get("from_id"), last_id=given.validated_data.get("to_id")
        )
        return Response(VerifyOutputSerializer(result).data)
