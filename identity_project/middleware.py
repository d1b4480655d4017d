"""Refuses request bodies over the API's limit before any view reads them (413, the error shape)."""

from django.conf import settings

from identity_project.api_errors import json_error


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(request, 400, "bad_request", "Content-Length is not a number.")
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return json_error(request, 413, "request_too_large", "The request body is larger than 64 KiB.")
        return self.get_response(request)
