"""The allow and block lists of addresses (admin/ip-rules)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.models import IPRule, User
from identity.services import ip_rules
from identity_project.permissions import has_permission
from identity_project.serializers import StrictSerializer

ManageIpRules = has_permission("identity.manage_ip_rules")


class IpRuleOutputSerializer(serializers.ModelSerializer):
    rule_id = serializers.UUIDField(source="id")
    user_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = IPRule
        fields = (
            "rule_id",
            "cidr",
            "list",
            "scope",
            "user_id",
            "expires_at",
            "reason",
            "automatic",
            "created_at",
        )


class IpRuleListApi(ListAPIView):
    """The allow and block lists (?list=allow|block)."""

    permission_classes = [ManageIpRules]
    serializer_class = IpRuleOutputSerializer

    class InputSerializer(StrictSerializer):
        cidr = serializers.CharField(max_length=64)
        list = serializers.ChoiceField(choices=IPRule.List.values)
        user_id = serializers.PrimaryKeyRelatedField(
            queryset=User.objects.all(), source="user", required=False, allow_null=True
        )
        expires_at = serializers.DateTimeField(required=False, allow_null=True)
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def get_queryset(self):
        rules = IPRule.objects.order_by("-created_at")
        if chosen := self.request.query_params.get("list"):
            rules = rules.filter(list=chosen)
        return rules

    @extend_schema(request=InputSerializer, responses={201: IpRuleOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = data.validated_data.get("user")
        rule = ip_rules.ip_rule_add(
            cidr=data.validated_data["cidr"],
            list=data.validated_data["list"],
            scope="user" if user else "global",
            user=user,
            expires_at=data.validated_data.get("expires_at"),
            reason=data.validated_data["reason"],
        )
        return Response(IpRuleOutputSerializer(rule).data, status=status.HTTP_201_CREATED)


class IpRuleDeleteApi(APIView):
    permission_classes = [ManageIpRules]

    @extend_schema(responses={204: None})
    def delete(self, request, rule_id):
        ip_rules.ip_rule_remove(rule_id=rule_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
