"""Logging, set up when Django sets itself up (LOGGING_CONFIG), never by importing the settings:
structlog's pipeline, whose records the standard library's handlers write as JSON lines
(LOGGING's formatter, settings/observability.py)."""

import logging.config

import structlog

from identity_project.eventbus.errors import DATABASE_UNAVAILABLE


def configure(config: dict) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    logging.config.dictConfig(config)


class DatabaseUnavailable(logging.Filter):
    """Django's request logger writes every 5xx as an error with its traceback: while the database
    is down, one traceback per request, all alike. The 503 of an unavailable database
    (api_errors.handler500) stays one line per request, a warning that names the error, without
    the traceback, which would say nothing more. Any other 5xx keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        unavailable = isinstance(error, DATABASE_UNAVAILABLE)
        if unavailable and getattr(record, "status_code", None) == 503:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = f"{record.msg} (the database is unavailable: {type(error).__name__})"
            record.exc_info = record.exc_text = None
        return True
