"""The benchmark as a Django app, so that workers find its no-op task."""

from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "bench"
