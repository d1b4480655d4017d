"""The notification consumer: every event of notification/events.py's table, on its lane."""

from __future__ import annotations

from identity_project.eventbus import routing
from identity_project.eventbus.consumers import Consumer
from identity_project.eventbus.envelope import Delivered
from notification import services
from notification.events import LANES, URGENT

# Events travel in batches of up to 50 per message (each still applied, retries and dead-lettered
# on its own by the consumer base): one message per sign-in would bound the relay by the broker's
# publish confirms. Urgent types are batched apart, on their own lane (notification.urgent, its own
# worker pool in production).
notification = Consumer(
    "notification", queue=routing.NOTIFICATION, urgent_queue=routing.NOTIFICATION_URGENT, batch_size=50
)


def notify(delivered: Delivered) -> None:
    """What the event's rules say: who, which channel, which template, thresholds (services.py)."""
    services.notify(delivered=delivered)


for _event, _lane in LANES.items():
    notification.handles(_event, urgent=_lane == URGENT)(notify)
