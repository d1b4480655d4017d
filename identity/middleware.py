"""Names the actor of Django-admin requests (API requests are named by their JWT authentication)."""

from identity_project.eventbus.context import Actor, set_actor


class AdminActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/") and request.user.is_authenticated:
            set_actor(Actor("admin", str(request.user.pk)))
        return self.get_response(request)
