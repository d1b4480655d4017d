"""Serializers shared by the audit API: the search filters and an entry as the API shows it."""

from rest_framework import serializers

from audit.models import AuditEntry
from audit.taxonomy import SEVERITIES


class EntryFilterSerializer(serializers.Serializer):
    """The filters of API.md; every one optional, all of them must match."""

    type = serializers.CharField(required=False, max_length=120)
    user_id = serializers.CharField(required=False, max_length=64)
    aggregate_id = serializers.CharField(required=False, max_length=64)
    correlation_id = serializers.CharField(required=False, max_length=64)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    severity = serializers.ChoiceField(choices=SEVERITIES, required=False)

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields) - set(self.context.get("allowed", ()))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown filter."] for name in sorted(unknown)})
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class EntryOutputSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = (
            "id",
            "event_id",
            "type",
            "version",
            "source",
            "occurred_at",
            "received_at",
            "aggregate_type",
            "aggregate_id",
            "sequence",
            "actor",
            "correlation_id",
            "causation_id",
            "user_id",
            "severity",
            "category",
            "data",
            "prev_hash",
            "hash",
        )

    def get_actor(self, entry: AuditEntry) -> dict:
        return {"type": entry.actor_type, "id": entry.actor_id or None}
