"""Writes of the integration app, split by subdomain; the functions callers use, in one place."""

from integration.services.deliveries import (
    DEAD_LETTER_CONSUMER,
    deliveries_purge,
    deliveries_record,
    deliveries_sweep,
    delivery_redeliver,
    subscription_replay,
)
from integration.services.resume import subscription_resume
from integration.services.siem import siem_daily_summary
from integration.services.subscriptions import (
    SubscriptionInvalid,
    subscription_create,
    subscription_delete,
    subscription_disable,
    subscription_rotate_secret,
    subscription_update,
    subscription_validate,
)

__all__ = [
    "DEAD_LETTER_CONSUMER",
    "SubscriptionInvalid",
    "deliveries_purge",
    "deliveries_record",
    "deliveries_sweep",
    "delivery_redeliver",
    "siem_daily_summary",
    "subscription_create",
    "subscription_delete",
    "subscription_disable",
    "subscription_replay",
    "subscription_resume",
    "subscription_rotate_secret",
    "subscription_update",
    "subscription_validate",
]
