"""Every API error in one shape: {"error": {"code", "message", "fields"}}, mapped in one place."""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from identity_project.eventbus.errors import DATABASE_UNAVAILABLE


class ApiError(exceptions.APIException):
    """An error a service raises for the API: a status, a machine code and a message."""

    def __init__(self, message: str, *, code: str, status_code: int = 400, fields: dict | None = None):
        super().__init__(message, code)
        self.status_code = status_code
        self.code = code
        self.fields = fields or {}


_CODES = {
    exceptions.ParseError: "malformed_request",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "validation_error",
}


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("request_too_large", "The request body is larger than 64 KiB."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        response.data = error_body(exc.code, str(exc.detail), exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        response.data = error_body("validation_error", "The request is not valid.", _fields(exc.detail))
    else:
        code = _CODES.get(type(exc), getattr(exc, "default_code", "error"))
        message = str(exc.detail) if not isinstance(exc.detail, dict | list) else "The request failed."
        response.data = error_body(code, message)
    return response


def json_error(request, status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def handler404(request, exception=None):
    return json_error(request, 404, "not_found", "Not found.")


# How long a client is told to wait before it tries again while the database is unavailable: a
# restart or a failover takes seconds.
DATABASE_RETRY_AFTER = 5
# A browser's page while the database is unavailable: short, and nothing of the cause.
UNAVAILABLE_PAGE = (
    "<!doctype html><html lang=en><title>Service unavailable</title>"
    "<h1>Service unavailable</h1>"
    "<p>The service is briefly unavailable. Please try again in a few seconds.</p>"
    "</html>"
)


def _wants_html(request) -> bool:
    """A browser asking for a page (the admin), never an API client."""
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


def database_unavailable(request) -> HttpResponse:
    """503 with Retry-After: the request may well succeed once the database is back (a restart,
    a failover, a dropped connection), which a 500 would not tell the client."""
    if _wants_html(request):
        response = HttpResponse(UNAVAILABLE_PAGE, status=503, content_type="text/html; charset=utf-8")
    else:
        response = json_error(
            request, 503, "service_unavailable", "The service is briefly unavailable; try again shortly."
        )
    response["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def handler500(request):
    """Every exception of a request that nothing else handled, in a view (DRF's handler leaves
    these to Django) or in a middleware (the session's, the bound session's). Django calls this
    while it handles the exception, so sys.exc_info() names it, as Django's own debug page reads
    it: a database that cannot be reached or that dropped the connection is a 503, not a 500."""
    if isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE):
        return database_unavailable(request)
    return json_error(request, 500, "server_error", "Internal server error.")


def handler400(request, exception=None):
    return json_error(request, 400, "bad_request", "Bad request.")


def handler403(request, exception=None):
    return json_error(request, 403, "permission_denied", "You do not have permission to perform this action.")
