"""Gives every request a correlation id (kept from X-Correlation-ID when it is well-formed)."""

import re

from identity_project.eventbus.context import ANONYMOUS, current_correlation_id, event_context

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class CorrelationIdMiddleware:
    header = "HTTP_X_CORRELATION_ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.META.get(self.header, "")
        correlation_id = supplied if _VALID.match(supplied) else None
        with event_context(correlation_id=correlation_id, actor=ANONYMOUS):
            request.correlation_id = current_correlation_id()
            response = self.get_response(request)
        response["X-Correlation-ID"] = request.correlation_id
        return response
