"""The URL map: admin, API v1, schema and docs, health, readiness and metrics."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from identity_project import health, scrape
from operations import api as operations_api

api_v1 = [
    path("events/catalog", operations_api.EventCatalogApi.as_view(), name="event-catalog"),
    path("ops/pipeline", operations_api.PipelineApi.as_view(), name="pipeline"),
    path("ops/dead-letters", operations_api.DeadLetterListApi.as_view(), name="dead-letter-list"),
    path(
        "ops/dead-letters/<int:pk>/replay",
        operations_api.DeadLetterReplayApi.as_view(),
        name="dead-letter-replay",
    ),
    path(
        "ops/dead-letters/<int:pk>/discard",
        operations_api.DeadLetterDiscardApi.as_view(),
        name="dead-letter-discard",
    ),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/v1/", include("identity.api.urls")),
    path("api/v1/", include("audit.api.urls")),
    path("api/v1/", include("notification.api.urls")),
    path("api/v1/", include("integration.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", scrape.metrics_view, name="metrics"),
]

handler400 = "identity_project.api_errors.handler400"
handler403 = "identity_project.api_errors.handler403"
handler404 = "identity_project.api_errors.handler404"
handler500 = "identity_project.api_errors.handler500"
