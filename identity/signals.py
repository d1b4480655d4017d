"""Model signals at the edge: edits made anywhere (the admin included) become events."""

from django.db.models.signals import post_init, post_save
from django.dispatch import receiver

from identity.events import UserRegistered, UserUpdated
from identity.models import User
from identity_project.eventbus.publisher import publish


@receiver(post_init, sender=User)
def remember_tracked_fields(sender, instance: User, **kwargs) -> None:
    instance._tracked_before = {f: instance.__dict__.get(f) for f in User.TRACKED_FIELDS}


@receiver(post_save, sender=User)
def publish_user_saved(sender, instance: User, created: bool, raw: bool = False, **kwargs) -> None:
    if raw:
        return  # fixtures
    if created:
        method = getattr(instance, "registration_method", "admin")
        publish(UserRegistered(user_id=instance.id, email=instance.email, method=method))
    else:
        changed = [f for f, before in instance._tracked_before.items() if getattr(instance, f) != before]
        if changed:
            publish(UserUpdated(user_id=instance.id, changed_fields=changed))
    instance._tracked_before = {f: getattr(instance, f) for f in User.TRACKED_FIELDS}
