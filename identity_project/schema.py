"""The OpenAPI schema's naming: a view's nested InputSerializer is named after its view."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """`RegisterApi.InputSerializer` becomes the component `RegisterInput`, not one of many `Input`s."""

    def get_serializer_name(self, serializer, direction):
        name = super().get_serializer_name(serializer, direction)
        owner = type(serializer).__qualname__.split(".")
        if len(owner) > 1 and owner[-1] in {"InputSerializer", "OutputSerializer"}:
            view = owner[-2].removesuffix("Api")
            return f"{view}{owner[-1].removesuffix('Serializer')}"
        return name
