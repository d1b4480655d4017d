"""The runs of identity's retention sweep (identity/retention.py), listed in the admin."""

from identity_project.eventbus.models import SweepRun


class RetentionRun(SweepRun):
    """One daily run of identity's retention: rows removed per table, in how many batches."""

    class Meta(SweepRun.Meta):
        verbose_name = "retention run"
