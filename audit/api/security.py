"""GET audit/security-incidents: incidents, newest first, each with its correlated events."""

# Incidents: suspicious logins, security alerts, lockouts, token reuse, compliance violations.

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.api.serializers import EntryOutputSerializer
from audit.selectors import security_incidents
from identity_project.permissions import has_permission


class IncidentInputSerializer(serializers.Serializer):
    before_id = serializers.IntegerField(required=False, min_value=1)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class IncidentOutputSerializer(serializers.Serializer):
    incident = EntryOutputSerializer()
    related = EntryOutputSerializer(many=True)


class IncidentListOutputSerializer(serializers.Serializer):
    results = IncidentOutputSerializer(many=True)


class SecurityIncidentListApi(APIView):
    permission_classes = [has_permission("audit.view_auditlog")]

    @extend_schema(parameters=[IncidentInputSerializer], responses=IncidentListOutputSerializer)
    def get(self, request):
        given = IncidentInputSerializer(data=request.query_params.dict())
        given.is_valid(raise_exception=True)
        incidents = security_incidents(**given.validated_data)
        return Response(IncidentListOutputSerializer({"results": incidents}).data)
