"""Logging, set up when Django sets itself up (LOGGING_CONFIG), never by importing the settings:
structlog's pipeline, whose records the standard library's handlers write as JSON lines
(LOGGING's formatter, settings/observability.py)."""

import logging.config

import structlog


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
