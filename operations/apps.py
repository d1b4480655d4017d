"""Operations: what people run the platform with, on top of the event bus: the pipeline's state
(GET ops/pipeline, `manage.py trace`), the admin's "Event pipeline" page with its charts, and
the dead letters' and the catalog's API. It has no models; the bus knows nothing of it."""

from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "operations"
    label = "operations"
    verbose_name = "Operations"
