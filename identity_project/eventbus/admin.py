"""The Django admin for dead letters (replay, discard) and the outbox (read-only), and the base of
every app's list of retention runs."""

from django.contrib import admin, messages

from identity_project.eventbus import deadletters
from identity_project.eventbus.models import DeadLetter, OutboxEvent


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("id", "consumer", "event_type", "event_id", "reason", "attempts", "status", "updated_at")
    list_filter = ("status", "consumer", "reason", "event_type")
    search_fields = ("event_id", "event_type", "error")
    readonly_fields = [f.name for f in DeadLetter._meta.fields]
    actions = ("replay_selected", "discard_selected")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Replay the selected dead letters", permissions=["change"])
    def replay_selected(self, request, queryset):
        self._apply(request, queryset, deadletters.replay, "replayed")

    @admin.action(description="Discard the selected dead letters", permissions=["change"])
    def discard_selected(self, request, queryset):
        self._apply(request, queryset, deadletters.discard, "discarded")

    def _apply(self, request, queryset, operation, verb: str) -> None:
        done = 0
        for letter in queryset:
            try:
                operation(letter)
                done += 1
            except deadletters.DeadLetterError as exc:
                self.message_user(request, f"{letter}: {exc}", messages.ERROR)
        self.message_user(request, f"{done} dead letter(s) {verb}.", messages.SUCCESS)


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "aggregate_type", "aggregate_id", "sequence", "created_at", "attempts")
    list_filter = ("type",)
    search_fields = ("event_id", "correlation_id", "aggregate_id")
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SweepRunAdmin(admin.ModelAdmin):
    """The runs of an app's retention sweep, the last first, read-only: each app registers its
    concrete SweepRun table with this."""

    list_display = ("started_at", "finished_at", "status", "outcome", "error")
    list_filter = ("status",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
