"""Input and output serializers of the notification API, one set per operation."""

from rest_framework import serializers

from notification.models import Category


class StrictInput(serializers.Serializer):
    """Unknown fields are an error (API.md), not silently dropped."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        return super().to_internal_value(data)


class NotificationListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    category = serializers.CharField()
    title = serializers.CharField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class PreferenceOutput(serializers.Serializer):
    category = serializers.CharField()
    label = serializers.CharField()
    email = serializers.BooleanField()
    in_app = serializers.BooleanField()
    mandatory = serializers.BooleanField()


class PreferencesOutput(serializers.Serializer):
    preferences = PreferenceOutput(many=True)


class PreferenceInput(StrictInput):
    category = serializers.ChoiceField(choices=Category.choices)
    email = serializers.BooleanField()
    in_app = serializers.BooleanField()


class PreferencesInput(StrictInput):
    preferences = PreferenceInput(many=True, allow_empty=False)

    def validate(self, attrs):
        categories = [p["category"] for p in attrs["preferences"]]
        if len(categories) != len(set(categories)):
            raise serializers.ValidationError({"preferences": ["Each category at most once."]})
        return attrs
