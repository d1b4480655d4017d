"""How a consumer's failures are classified: retry later, or dead-letter now."""

from django.db import DataError, InterfaceError, OperationalError


class TransientError(Exception):
    """Worth retrying: the cause may go away (a service down, a timeout, an HTTP 5xx)."""


class PermanentError(Exception):
    """No retry can help: dead-letter at once (and run the handler's compensation)."""


# The database cannot be reached (down, restarting, its connection cut): no fault of a request,
# an event or a record. The API answers 503, a send is tried again later, a consumer retries.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

# Failures of the infrastructure, not of one event: a batch hit by one is retried whole,
# never split to hunt for a bad event.
INFRASTRUCTURE_ERRORS = (TransientError, *DATABASE_UNAVAILABLE, OSError)


# The event's own content breaks the store (a value too long, out of range): no retry helps.
PERMANENT_ERRORS = (PermanentError, DataError)


def is_permanent(exc: BaseException) -> bool:
    """Everything else is retried, then dead-lettered once its retries are spent: never dropped."""
    return isinstance(exc, PERMANENT_ERRORS)


def is_infrastructure_failure(exc: BaseException) -> bool:
    return isinstance(exc, INFRASTRUCTURE_ERRORS)
