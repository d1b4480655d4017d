"""integration API routes, mounted under /api/v1/ (paths as in ../shared/API.md)."""

from django.urls import path

from integration.api import views

urlpatterns = [
    path("integration/webhooks", views.WebhookCollectionApi.as_view(), name="webhook-collection"),
    path("integration/webhooks/<uuid:pk>", views.WebhookItemApi.as_view(), name="webhook-item"),
    path(
        "integration/webhooks/<uuid:pk>/rotate-secret",
        views.WebhookRotateSecretApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path("integration/webhooks/<uuid:pk>/replay", views.WebhookReplayApi.as_view(), name="webhook-replay"),
    path(
        "integration/webhooks/<uuid:pk>/deliveries",
        views.WebhookDeliveryListApi.as_view(),
        name="webhook-delivery-list",
    ),
    path(
        "integration/webhooks/<uuid:pk>/deliveries/<int:delivery_id>/redeliver",
        views.WebhookRedeliverApi.as_view(),
        name="webhook-redeliver",
    ),
]
