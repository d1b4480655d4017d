"""The Django admin of identity, a module per subject; every action goes through the services (and
their events). Django's autodiscovery imports this package, and importing its modules registers
their models."""

from identity.admin import compliance, elevation, permissions, retention, roles, sessions, users

__all__ = ["compliance", "elevation", "permissions", "retention", "roles", "sessions", "users"]
