"""The signed-in user's notifications and preferences: thin views over selectors and preferences.py."""

from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from identity_project.api_errors import ApiError
from notification import preferences, selectors
from notification.api.serializers import (
    NotificationListOutput,
    PreferencesInput,
    PreferencesOutput,
)


class NotificationListApi(ListAPIView):
    """GET me/notifications: the caller's in-app notifications, newest first, paginated."""

    serializer_class = NotificationListOutput

    def get_queryset(self):
        return selectors.notifications_of(user_id=self.request.user.pk)


class NotificationPreferencesApi(APIView):
    """GET and PUT me/notification-preferences: per-category opt-out, mandatory ones stay on."""

    @extend_schema(responses=PreferencesOutput)
    def get(self, request):
        return Response(self._current(request))

    @extend_schema(request=PreferencesInput, responses=PreferencesOutput)
    def put(self, request):
        serializer = PreferencesInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            preferences.preferences_update(
                user_id=request.user.pk, preferences=serializer.validated_data["preferences"]
            )
        except preferences.NotificationError as exc:
            raise ApiError(str(exc), code=exc.code, status_code=400, fields=exc.fields) from exc
        return Response(self._current(request))

    @staticmethod
    def _current(request) -> dict:
        chosen = selectors.preferences_of(user_id=request.user.pk)
        return PreferencesOutput({"preferences": chosen}).data
