"""The Django admin site of the platform: Django's own, plus the operations pages (the event
pipeline), which are no model's and so are added here and listed on the index."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path, reverse

from identity_project.eventbus import admin_pipeline


class IdentityAdminSite(admin.AdminSite):
    def get_urls(self):
        return [
            path("pipeline/", self.admin_view(admin_pipeline.pipeline_view), name="eventbus_pipeline"),
            path(
                "pipeline/dead-letters/<int:pk>/<str:action>",
                self.admin_view(admin_pipeline.dead_letter_action_view),
                name="eventbus_pipeline_dead_letter",
            ),
            *super().get_urls(),
        ]

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is None and admin_pipeline.can_view(request.user):
            url = reverse("admin:eventbus_pipeline", current_app=self.name)
            apps.insert(0, _operations_app(url))
        return apps


def _operations_app(url: str) -> dict:
    """The index's "Operations" box, in the shape Django's app list template reads."""
    page = {
        "name": "Event pipeline",
        "object_name": "EventPipeline",
        "admin_url": url,
        "add_url": None,
        "view_only": True,
        "perms": {"view": True},
    }
    return {
        "name": "Operations",
        "app_label": "operations",
        "app_url": url,
        "has_module_perms": True,
        "models": [page],
    }
