"""Integration's webhooks (WEBHOOK_*): targets, deadlines, retries, circuits, secrets, retention."""

from identity_project.settings.environment import env

# Webhook targets on loopback, private, link-local or reserved addresses (IPv4 inside IPv6 forms
# included) are refused unless this allows them. Off unless set, DEBUG or not: `make run`, the demo
# and the tests set it for their receivers on loopback.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
# Per network operation of an attempt: connecting, each read, each write.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
# The whole attempt (connect, TLS, request, answer) ends by this many seconds, however slowly the
# receiver trickles its answer; the resolver's lookup counts, but cannot be cut short. A claimed
# delivery's lease is this deadline and 30 s more (eventbus/outbound/channel.py, LEASE_MARGIN):
# an attempt is over when its lease ends, so a slow attempt and its resend are never in flight
# together.
WEBHOOK_ATTEMPT_DEADLINE = env.float("WEBHOOK_ATTEMPT_DEADLINE", default=25.0)
# A CA bundle (a PEM file) to verify receivers' certificates with instead of certifi's, for
# receivers whose certificates a private CA signs.
WEBHOOK_CA_BUNDLE = env.str("WEBHOOK_CA_BUNDLE", default="")
# Failed attempts a delivery may make while its endpoint's circuit is closed; then it is failed
# and dead-lettered. Waiting behind an open circuit uses none of them.
WEBHOOK_MAX_RETRIES = env.int("WEBHOOK_MAX_RETRIES", default=8)
WEBHOOK_BACKOFF_FACTOR = env.float("WEBHOOK_BACKOFF_FACTOR", default=2.0)
WEBHOOK_BACKOFF_MAX = env.float("WEBHOOK_BACKOFF_MAX", default=300.0)
WEBHOOK_CIRCUIT_THRESHOLD = env.int("WEBHOOK_CIRCUIT_THRESHOLD", default=5)
WEBHOOK_CIRCUIT_COOLDOWN = env.float("WEBHOOK_CIRCUIT_COOLDOWN", default=60.0)
# An endpoint failing without one success for this long is disabled (and one alert logged).
WEBHOOK_DISABLE_AFTER_DAYS = env.float("WEBHOOK_DISABLE_AFTER_DAYS", default=5.0)
# After a rotation the old secret still signs (beside the new one) for this long.
WEBHOOK_SECRET_GRACE_HOURS = env.float("WEBHOOK_SECRET_GRACE_HOURS", default=24.0)
# Finished deliveries are kept this long: it is also how far back a replay can reach.
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)
WEBHOOK_SWEEP_INTERVAL = env.float("WEBHOOK_SWEEP_INTERVAL", default=60.0)
