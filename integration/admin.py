"""The Django admin for webhook subscriptions (secret rotation, replay) and their deliveries."""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.shortcuts import render

from integration import selectors, services
from integration.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


class ReplayForm(forms.Form):
    since = forms.SplitDateTimeField(help_text="Re-send what each selected subscription was sent since then.")


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")

    class Meta:
        model = WebhookSubscription
        fields = ("url", "event_types", "is_siem", "payload", "is_active")

    def clean(self):
        cleaned = super().clean()
        try:
            services.subscription_validate(url=cleaned.get("url"), event_types=cleaned.get("event_types"))
        except services.SubscriptionInvalid as exc:
            for field, errors in exc.fields.items():
                self.add_error(field, errors)
        return cleaned


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("url", "is_active", "is_siem", "payload", "circuit_state", "failing_since", "created_at")
    list_filter = ("is_active", "is_siem", "payload")
    search_fields = ("url",)
    readonly_fields = ("disabled_reason", "failing_since", "created_at", "updated_at")
    actions = ("rotate_secret", "replay")

    @admin.display(description="circuit")
    def circuit_state(self, obj: WebhookSubscription) -> str:
        return selectors.subscription_circuit_state(obj)

    def save_model(self, request, obj, form, change):
        if change:
            services.subscription_update(
                subscription=WebhookSubscription.objects.get(pk=obj.pk),
                **{name: form.cleaned_data[name] for name in form.changed_data},
            )
            return
        subscription, secret = services.subscription_create(
            url=obj.url,
            event_types=obj.event_types,
            is_siem=obj.is_siem,
            payload=obj.payload,
            is_active=obj.is_active,
        )
        obj.pk = subscription.pk
        self.message_user(request, f"The signing secret, shown once: {secret}", messages.WARNING)

    def delete_model(self, request, obj):
        services.subscription_delete(subscription=obj)

    @admin.action(description="Rotate the signing secret", permissions=["change"])
    def rotate_secret(self, request, queryset):
        for subscription in queryset:
            secret = services.subscription_rotate_secret(subscription=subscription)
            self.message_user(
                request, f"{subscription.url}: new secret, shown once: {secret}", messages.WARNING
            )

    @admin.action(description="Replay deliveries since a point in time", permissions=["change"])
    def replay(self, request, queryset):
        form = ReplayForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            since: dt.datetime = form.cleaned_data["since"]
            for subscription in queryset:
                count = services.subscription_replay(subscription=subscription, since=since)
                self.message_user(
                    request, f"{subscription.url}: {count} deliveries replayed.", messages.SUCCESS
                )
            return None
        return render(
            request,
            "admin/integration/replay.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "subscriptions": queryset,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "status_code", "duration_ms", "error", "response_body", "counted")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_type", "subscription", "status", "held", "attempts", "created_at", "sent_at")
    list_filter = ("status", "held", "event_type")
    search_fields = ("event_id", "aggregate_id")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = (WebhookAttemptInline,)
    actions = ("redeliver",)

    def has_add_permission(self, request):
        return False

    @admin.action(description="Redeliver the selected deliveries", permissions=["change"])
    def redeliver(self, request, queryset):
        for delivery in queryset:
            services.delivery_redeliver(delivery=delivery)
        self.message_user(request, f"{queryset.count()} deliveries scheduled again.", messages.SUCCESS)
