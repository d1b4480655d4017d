"""Every API error in one shape: {"error": {"code", "message", "fields"}}, mapped in one place."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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


def handler500(request):
    return json_error(request, 500, "server_error", "Internal server error.")


def handler400(request, exception=None):
    return json_error(request, 400, "bad_request", "Bad request.")


def handler403(request, exception=None):
    return json_error(request, 403, "permission_denied", "You do not have permission to perform this action.")
