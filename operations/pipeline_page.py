"""The admin's "Event pipeline" page: what GET ops/pipeline answers, as pictures, with buttons
to replay or discard pending dead letters (the same services as the API).

Viewing needs ops.view_pipeline, the buttons ops.manage_dead_letters, beside being staff.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from identity_project.eventbus import consumer_registry, deadletters
from identity_project.eventbus.models import DeadLetter
from operations import charts, pipeline, timeline

VIEW_PERMISSION = "ops.view_pipeline"
MANAGE_PERMISSION = "ops.manage_dead_letters"
DEAD_LETTERS_SHOWN = 50
ACTIONS = {"replay": (deadletters.replay, "replayed"), "discard": (deadletters.discard, "discarded")}


def can_view(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm(VIEW_PERMISSION)


@require_GET
def pipeline_view(request: HttpRequest) -> HttpResponse:
    if not can_view(request.user):
        raise PermissionDenied
    state = pipeline.snapshot()
    hour = timeline.last_hour([c.name for c in consumer_registry.all_consumers()])
    pending = DeadLetter.objects.filter(status=DeadLetter.Status.PENDING).order_by("-updated_at", "-id")
    circuits = state.get("circuits", {})
    context = {
        **admin.site.each_context(request),
        "title": "Event pipeline",
        "state": state,
        "processed_last_hour": sum(c["processed_last_hour"] for c in state["consumers"].values()),
        "throughput_chart": charts.line_chart(
            minutes=hour.minutes,
            # The hour's total in the legend: lines of equal counts lie on top of each other.
            series={f"{name} ({sum(counts)})": counts for name, counts in hour.throughput.items()},
            unit="events handled per minute",
            label="Events handled per minute and consumer, last hour",
            whole=True,
        ),
        "latency_chart": charts.line_chart(
            minutes=hour.minutes,
            series=hour.latency_ms,
            unit="commit to handled (ms)",
            label="Commit-to-handled latency per minute (p50, p95), last hour",
            whole=False,
        ),
        "queues_reported": bool(state["queues"]) and "error" not in state["queues"],
        "dead_letters": pending[:DEAD_LETTERS_SHOWN],
        "dead_letters_total": sum(state["dead_letters"].values()),
        "can_manage": request.user.has_perm(MANAGE_PERMISSION),
        "open_circuits": {sid: circuit for sid, circuit in circuits.items() if circuit != "closed"},
        "circuits_total": len(circuits),
    }
    return TemplateResponse(request, "admin/operations/pipeline.html", context)


@require_POST
def dead_letter_action_view(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if not request.user.has_perm(MANAGE_PERMISSION):
        raise PermissionDenied
    if action not in ACTIONS:
        raise Http404
    letter = DeadLetter.objects.filter(pk=pk).first()
    if letter is None:
        raise Http404
    operation, verb = ACTIONS[action]
    try:
        operation(letter)
    except deadletters.DeadLetterError as exc:
        messages.error(request, f"Dead letter {pk} ({letter.event_type} for {letter.consumer}): {exc}")
    else:
        messages.success(request, f"Dead letter {pk} ({letter.event_type} for {letter.consumer}) {verb}.")
    return redirect("admin:eventbus_pipeline")
