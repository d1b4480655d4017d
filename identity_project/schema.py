"""The OpenAPI schema: a view's nested InputSerializer is named after its view; error answers
share the API's one error shape."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers


class AutoSchema(SpectacularAutoSchema):
    """`RegisterApi.InputSerializer` becomes the component `RegisterInput`, not one of many `Input`s."""

    def get_serializer_name(self, serializer, direction):
        name = super().get_serializer_name(serializer, direction)
        owner = type(serializer).__qualname__.split(".")
        if len(owner) > 1 and owner[-1] in {"InputSerializer", "OutputSerializer"}:
            view = owner[-2].removesuffix("Api")
            return f"{view}{owner[-1].removesuffix('Serializer')}"
        return name


ErrorOutput = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorBody",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
            },
        )
    },
)


def error_answer(description: str) -> OpenApiResponse:
    """An error answer of an operation, in the API's one error shape (API.md, "Errors")."""
    return OpenApiResponse(ErrorOutput, description=description)


UNAVAILABLE = {
    "description": (
        "`service_unavailable`: the database cannot be reached (a restart, a failover, a dropped "
        "connection). Nothing was changed, or the change rolled back with its events; try again "
        "after `Retry-After` seconds."
    ),
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def database_unavailable(result, generator, request, public):
    """Every operation may answer 503 while the database is unavailable (api_errors.handler500):
    API.md lists no 503, and a client should know that this one is worth a retry, unlike a 500."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault("503", UNAVAILABLE)
    return result
