"""Django's admin, with the platform's own site (identity_project/admin_site.py) as its default, and
the project's own app."""

import os

from django.apps import AppConfig
from django.conf import settings
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.db.models.signals import post_migrate


class AdminConfig(DjangoAdminConfig):
    default_site = "identity_project.admin_site.IdentityAdminSite"


class ProjectConfig(AppConfig):
    name = "identity_project"

    def ready(self) -> None:
        post_migrate.connect(keep_development_secret_key, dispatch_uid="keep_development_secret_key")


def keep_development_secret_key(**_: object) -> None:
    """On a development VAR_DIR (DEBUG, no SECRET_KEY), `migrate` keeps the key it ran with, which
    every later process reads (settings/core.py); a key already kept is never replaced."""
    path = settings.DEVELOPMENT_SECRET_KEY_FILE
    if path is None or path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another migrate kept its key first; later processes read that one
    with os.fdopen(descriptor, "w") as file:
        file.write(settings.SECRET_KEY)
