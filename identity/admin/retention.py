"""The admin's list of identity's retention runs."""

from django.contrib import admin

from identity.models import RetentionRun
from identity_project.eventbus.admin import SweepRunAdmin

admin.site.register(RetentionRun, SweepRunAdmin)
