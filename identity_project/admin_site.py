"""The Django admin site of the platform: django-otp's OTPAdminSite (a page opens only to a
verified session), signed in through identity's service like the API (identity/admin_door.py),
plus the operations pages (the event pipeline), which are no model's and so are added here and
listed on the index."""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin import AdminSite
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp.admin import OTPAdminSite

from identity import admin_door
from identity.services.mfa_devices import mfa_enabled
from operations import pipeline_page


class IdentityAdminSite(OTPAdminSite):
    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def has_permission(self, request) -> bool:
        """Staff, and verified by a second factor; where none is required (DEBUG, by default),
        staff who have none are let in on the password."""
        if not AdminSite.has_permission(self, request):
            return False
        if request.user.is_verified():
            return True
        return not settings.IDENTITY["ADMIN_REQUIRE_MFA"] and not mfa_enabled(request.user)

    @method_decorator(csrf_protect)
    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        return admin_door.login_view(self, request)

    def logout(self, request, extra_context=None):
        if request.method == "POST":  # Django's logout is POST only
            admin_door.end_bound_session(request)
        return super().logout(request, extra_context)

    def get_urls(self):
        door = [
            path("login/verify/", csrf_protect(never_cache(self._verify)), name="identity_login_verify"),
            path("login/enrol/", csrf_protect(never_cache(self._enrol)), name="identity_login_enrol"),
        ]
        return [
            *door,
            path("pipeline/", self.admin_view(pipeline_page.pipeline_view), name="eventbus_pipeline"),
            path(
                "pipeline/dead-letters/<int:pk>/<str:action>",
                self.admin_view(pipeline_page.dead_letter_action_view),
                name="eventbus_pipeline_dead_letter",
            ),
            *super().get_urls(),
        ]

    def _verify(self, request):
        return admin_door.verify_view(self, request)

    def _enrol(self, request):
        return admin_door.enrol_view(self, request)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is None and pipeline_page.can_view(request.user):
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
