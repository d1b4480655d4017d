"""How a consumer's failures are classified: retry later, or dead-letter now."""

from django.db import InterfaceError, OperationalError


class TransientError(Exception):
    """Worth retrying: the cause may go away (a service down, a timeout, an HTTP 5xx)."""


class PermanentError(Exception):
    """No retry can help: dead-letter at once (and run the handler's compensation)."""


# Failures of the infrastructure, not of one event: a batch hit by one is retried whole,
# never split to hunt for a bad event.
INFRASTRUCTURE_ERRORS = (TransientError, OperationalError, InterfaceError, OSError)


def is_permanent(exc: BaseException) -> bool:
    """Everything else is retried, then dead-lettered once its retries are spent: never dropped."""
    return isinstance(exc, PermanentError)


def is_infrastructure_failure(exc: BaseException) -> bool:
    return isinstance(exc, INFRASTRUCTURE_ERRORS)
