"""The webhook API (API.md): subscriptions, deliveries, redeliver, replay; one class per operation."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from identity_project.api_errors import ApiError
from identity_project.permissions import has_permission
from integration import selectors, services
from integration.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

ManageWebhooks = has_permission("integration.manage_webhooks")


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    circuit_state = serializers.SerializerMethodField()

    class Meta:
        model = WebhookSubscription
        fields = (
            "id",
            "url",
            "event_types",
            "is_active",
            "is_siem",
            "payload",
            "circuit_state",
            "disabled_reason",
            "created_at",
        )

    def get_circuit_state(self, obj: WebhookSubscription) -> str:
        return selectors.subscription_circuit_state(obj)


class WebhookSubscriptionWithSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.SerializerMethodField()

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = (*WebhookSubscriptionSerializer.Meta.fields, "secret")

    def get_secret(self, obj: WebhookSubscription) -> str:
        return self.context["secret"]


class _StrictSerializer(serializers.Serializer):
    """Unknown fields are refused (API.md), not silently ignored."""

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        return attrs


def _subscription_or_404(pk: uuid.UUID) -> WebhookSubscription:
    subscription = selectors.subscription_get(pk)
    if subscription is None:
        raise ApiError("No such webhook subscription.", code="not_found", status_code=404)
    return subscription


def _invalid(exc: services.SubscriptionInvalid) -> ApiError:
    return ApiError("The request is not valid.", code="validation_error", fields=exc.fields)


class WebhookListApi(ListAPIView):
    """The webhook subscriptions (secrets are never listed)."""

    permission_classes = [ManageWebhooks]
    serializer_class = WebhookSubscriptionSerializer

    def get_queryset(self):
        return selectors.subscription_list()


class WebhookCreateApi(APIView):
    """Subscribe an endpoint; the answer carries its signing secret, this once."""

    permission_classes = [ManageWebhooks]

    class WebhookCreateInputSerializer(_StrictSerializer):
        url = serializers.URLField(max_length=2000)
        event_types = serializers.ListField(child=serializers.CharField(max_length=120), allow_empty=True)
        is_active = serializers.BooleanField(default=True)
        is_siem = serializers.BooleanField(default=False)
        payload = serializers.ChoiceField(choices=WebhookSubscription.Payload.choices, default="event")

    @extend_schema(
        request=WebhookCreateInputSerializer, responses={201: WebhookSubscriptionWithSecretSerializer}
    )
    def post(self, request):
        serializer = self.WebhookCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            subscription, secret = services.subscription_create(**serializer.validated_data)
        except services.SubscriptionInvalid as exc:
            raise _invalid(exc) from exc
        data = WebhookSubscriptionWithSecretSerializer(subscription, context={"secret": secret}).data
        return Response(data, status=status.HTTP_201_CREATED)


class WebhookCollectionApi(WebhookListApi, WebhookCreateApi):
    """GET lists, POST creates: two operations on one path."""


class WebhookDetailApi(APIView):
    permission_classes = [ManageWebhooks]

    @extend_schema(responses=WebhookSubscriptionSerializer)
    def get(self, request, pk: uuid.UUID):
        return Response(WebhookSubscriptionSerializer(_subscription_or_404(pk)).data)


class WebhookUpdateApi(APIView):
    permission_classes = [ManageWebhooks]

    class WebhookUpdateInputSerializer(_StrictSerializer):
        url = serializers.URLField(max_length=2000, required=False)
        event_types = serializers.ListField(child=serializers.CharField(max_length=120), required=False)
        is_active = serializers.BooleanField(required=False)
        is_siem = serializers.BooleanField(required=False)
        payload = serializers.ChoiceField(choices=WebhookSubscription.Payload.choices, required=False)

    @extend_schema(request=WebhookUpdateInputSerializer, responses=WebhookSubscriptionSerializer)
    def patch(self, request, pk: uuid.UUID):
        subscription = _subscription_or_404(pk)
        serializer = self.WebhookUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            subscription = services.subscription_update(
                subscription=subscription, **serializer.validated_data
            )
        except services.SubscriptionInvalid as exc:
            raise _invalid(exc) from exc
        return Response(WebhookSubscriptionSerializer(subscription).data)


class WebhookDeleteApi(APIView):
    permission_classes = [ManageWebhooks]

    @extend_schema(responses={204: None})
    def delete(self, request, pk: uuid.UUID):
        services.subscription_delete(subscription=_subscription_or_404(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookItemApi(WebhookDetailApi, WebhookUpdateApi, WebhookDeleteApi):
    """GET, PATCH and DELETE of one subscription: three operations on one path."""


class WebhookRotateSecretApi(APIView):
    """A new signing secret, shown this once; the old one stays valid for the grace period."""

    permission_classes = [ManageWebhooks]

    @extend_schema(request=None, responses=WebhookSubscriptionWithSecretSerializer)
    def post(self, request, pk: uuid.UUID):
        subscription = _subscription_or_404(pk)
        secret = services.subscription_rotate_secret(subscription=subscription)
        return Response(
            WebhookSubscriptionWithSecretSerializer(subscription, context={"secret": secret}).data
        )


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ("created_at", "status_code", "duration_ms", "response_body", "error", "counted")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    attempts_made = WebhookAttemptSerializer(many=True, read_only=True)
    delivered_at = serializers.DateTimeField(source="sent_at", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event_id",
            "event_type",
            "sequence",
            "occurred_at",
            "status",
            "held",
            "attempts",
            "last_error",
            "created_at",
            "delivered_at",
            "attempts_made",
        )


class WebhookDeliveryListApi(ListAPIView):
    """A subscription's deliveries, newest first, each with its attempts."""

    permission_classes = [ManageWebhooks]
    serializer_class = WebhookDeliverySerializer

    def get_queryset(self):
        return selectors.delivery_list(_subscription_or_404(self.kwargs["pk"]))


class WebhookRedeliverApi(APIView):
    """Send one delivery again (same webhook-id, fresh retries)."""

    permission_classes = [ManageWebhooks]

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    def post(self, request, pk: uuid.UUID, delivery_id: int):
        delivery = selectors.delivery_get(_subscription_or_404(pk), delivery_id)
        if delivery is None:
            raise ApiError("No such delivery.", code="not_found", status_code=404)
        delivery = services.delivery_redeliver(delivery=delivery)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookReplayApi(APIView):
    """Re-send, in order, what this subscription was sent since a point in time."""

    permission_classes = [ManageWebhooks]

    class WebhookReplayInputSerializer(_StrictSerializer):
        since = serializers.DateTimeField()

    class WebhookReplayOutputSerializer(serializers.Serializer):
        replayed = serializers.IntegerField()

    @extend_schema(request=WebhookReplayInputSerializer, responses={202: WebhookReplayOutputSerializer})
    def post(self, request, pk: uuid.UUID):
        subscription = _subscription_or_404(pk)
        serializer = self.WebhookReplayInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count = services.subscription_replay(
            subscription=subscription, since=serializer.validated_data["since"]
        )
        return Response(
            self.WebhookReplayOutputSerializer({"replayed": count}).data, status=status.HTTP_202_ACCEPTED
        )
