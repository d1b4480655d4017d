"""Django's admin, with the platform's own site (identity_project/admin_site.py) as its default."""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "identity_project.admin_site.IdentityAdminSite"
