"""notification API routes, mounted under /api/v1/ (paths as in ../shared/API.md)."""

from django.urls import path

from notification.api import views

urlpatterns = [
    path("me/notifications", views.NotificationListApi.as_view(), name="notification-list"),
    path(
        "me/notification-preferences",
        views.NotificationPreferencesApi.as_view(),
        name="notification-preferences",
    ),
]
