"""Model signals at the edge: edits made anywhere (the admin included) become events."""

from django.db.models.signals import post_init, post_save
from django.dispatch import receiver

from identity.events import (
    PermissionCheckDenied,
    UserDeactivated,
    UserReactivated,
    UserRegistered,
    UserUpdated,
)
from identity.models import User
from identity.network import client_ip
from identity.services.roles import default_roles_give
from identity.services.sessions import sessions_invalidate_for_user
from identity_project.eventbus.publisher import publish
from identity_project.permissions import permission_denied

WATCHED = (*User.TRACKED_FIELDS, "is_active")


@receiver(post_init, sender=User)
def remember_watched_fields(sender, instance: User, **kwargs) -> None:
    instance._before = {f: instance.__dict__.get(f) for f in WATCHED}


@receiver(post_save, sender=User)
def publish_user_saved(sender, instance: User, created: bool, raw: bool = False, **kwargs) -> None:
    if raw:
        return  # fixtures
    if created:
        method = getattr(instance, "registration_method", "admin")
        publish(UserRegistered(user_id=instance.id, email=instance.email, method=method))
        default_roles_give(user=instance)
    else:
        before = instance._before
        changed = [f for f in User.TRACKED_FIELDS if getattr(instance, f) != before[f]]
        if changed:
            publish(UserUpdated(user_id=instance.id, changed_fields=changed))
        if instance.is_active != before["is_active"]:
            _publish_activation(instance)
    instance._before = {f: getattr(instance, f) for f in WATCHED}


def _publish_activation(user: User) -> None:
    if user.is_active:
        publish(UserReactivated(user_id=user.id))
        return
    publish(UserDeactivated(user_id=user.id, reason=getattr(user, "deactivation_reason", "admin")))
    sessions_invalidate_for_user(user=user, reason="user_deactivated")


@receiver(permission_denied)
def publish_permission_denied(sender, user, codename: str, request, **kwargs) -> None:
    """Committed on its own: the request is refused, the refusal is still on record."""
    publish(
        PermissionCheckDenied(
            user_id=user.pk, codename=codename, resource=f"{request.method} {request.path}"[:300],
            ip_address=client_ip(request),
        )
    )  # fmt: skip
