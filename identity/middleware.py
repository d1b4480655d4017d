"""A Django session (the admin site's) lives only as long as the AuthSession it is bound to, and
names the actor of admin requests (API requests are named by their JWT authentication)."""

from django.contrib import auth

from identity.admin_door import BOUND_SESSION
from identity.authentication import usable_session
from identity_project.eventbus.context import Actor, set_actor


class BoundSessionMiddleware:
    """After AuthenticationMiddleware and django-otp's OTPMiddleware: a browser whose AuthSession
    ended (a lock, a deactivation, a password change, a revocation, its lifetime), or that never
    had one, is signed out before the view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            session = usable_session(request.session.get(BOUND_SESSION), request.user.pk)
            if session is None:
                auth.logout(request)
            else:
                request.user.auth_session = session
                if request.path.startswith("/admin/"):
                    set_actor(Actor("admin", str(request.user.pk)))
        return self.get_response(request)
