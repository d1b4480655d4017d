"""The ops API: the pipeline's state, dead letters (list, replay, discard) and the catalog."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity_project.api_errors import ApiError
from identity_project.eventbus import deadletters
from identity_project.eventbus.catalog_view import catalog_entries
from identity_project.eventbus.models import DeadLetter
from identity_project.permissions import has_permission
from operations import pipeline

ManageDeadLetters = has_permission("ops.manage_dead_letters")


class DeadLetterOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeadLetter
        fields = (
            "id",
            "consumer",
            "event_id",
            "event_type",
            "reason",
            "error",
            "attempts",
            "status",
            "replay_count",
            "created_at",
            "updated_at",
            "envelope",
        )


class DeadLetterListApi(ListAPIView):
    """Dead letters, newest first; ?consumer= and ?status= (default pending, or `all`)."""

    permission_classes = [ManageDeadLetters]
    serializer_class = DeadLetterOutputSerializer

    def get_queryset(self):
        letters = DeadLetter.objects.order_by("-updated_at", "-id")
        status = self.request.query_params.get("status", DeadLetter.Status.PENDING)
        if status != "all":
            if status not in DeadLetter.Status.values:
                raise ApiError(f"unknown status {status!r}", code="validation_error")
            letters = letters.filter(status=status)
        consumer = self.request.query_params.get("consumer")
        if consumer:
            letters = letters.filter(consumer=consumer)
        return letters


class _DeadLetterActionApi(APIView):
    permission_classes = [ManageDeadLetters]
    operation = staticmethod(deadletters.replay)

    @extend_schema(request=None, responses=DeadLetterOutputSerializer)
    def post(self, request, pk: int):
        letter = DeadLetter.objects.filter(pk=pk).first()
        if letter is None:
            raise ApiError("No such dead letter.", code="not_found", status_code=404)
        try:
            letter = self.operation(letter)
        except deadletters.DeadLetterError as exc:
            raise ApiError(str(exc), code="conflict", status_code=409) from exc
        return Response(DeadLetterOutputSerializer(letter).data)


class DeadLetterReplayApi(_DeadLetterActionApi):
    """Send the event to its consumer again (applied at most once)."""

    operation = staticmethod(deadletters.replay)


class DeadLetterDiscardApi(_DeadLetterActionApi):
    """Give up on the event; it leaves the pending list."""

    operation = staticmethod(deadletters.discard)


class CatalogEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    version = serializers.IntegerField()
    aggregate_type = serializers.CharField()
    description = serializers.CharField()
    consumers = serializers.ListField(child=serializers.CharField())
    schema = serializers.DictField()


class PipelineOutputSerializer(serializers.Serializer):
    outbox = serializers.DictField(help_text="pending rows and the age of the oldest, in seconds")
    queues = serializers.DictField(help_text="messages ready per queue (RabbitMQ)")
    consumers = serializers.DictField(
        help_text="per consumer: processed, retried, failed (last hour), dead letters, latency p50/p95/p99 ms"
    )
    dead_letters = serializers.DictField(help_text="pending dead letters per consumer")
    circuits = serializers.DictField(help_text="webhook subscription id: circuit state")


class PipelineApi(APIView):
    """Outbox backlog and oldest age, queue depths, per-consumer counts and commit-to-handled
    latency percentiles, dead letters by consumer, webhook circuits."""

    permission_classes = [has_permission("ops.view_pipeline")]

    @extend_schema(responses={200: PipelineOutputSerializer})
    def get(self, request):
        return Response(pipeline.snapshot())


class EventCatalogApi(APIView):
    """The event catalog: type, version, consumers and JSON Schema of every event."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=CatalogEntrySerializer(many=True))
    def get(self, request):
        return Response(catalog_entries())
