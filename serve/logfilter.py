"""Nothing personal in the logs: one filter on every handler of the service.

It drops query strings from uvicorn's access and WebSocket lines (a live session's ``customer_id``
and ``agent_id`` travel there) and redacts PII (:func:`dispo.redact.default_redactor`) from every message and
every logged exception, whose text may quote a request body."""

from __future__ import annotations

import logging
import traceback

from dispo.redact import default_redactor

ACCESS_LOGGER = "uvicorn.access"
SERVICE_LOGGERS = ("", "uvicorn", "uvicorn.error", ACCESS_LOGGER)  # "" is the root logger


class PrivacyFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("uvicorn") and isinstance(record.args, tuple):
            # the access lines (client, method, path?query, ...) and the WebSocket lines on uvicorn.error
            # (client, path?query): every path loses its query string
            record.args = tuple(_without_query(arg) for arg in record.args)
        redactor = default_redactor()
        message = record.getMessage()
        redacted = redactor.redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text, record.exc_info = redactor.redact_text(text), None
        return True


def _without_query(arg: object) -> object:
    return arg.split("?", 1)[0] if isinstance(arg, str) and arg.startswith("/") else arg


def install_privacy_filter() -> PrivacyFilter:
    """Put one :class:`PrivacyFilter` on every handler of the service's loggers (idempotent)."""
    privacy = next(
        (f for name in SERVICE_LOGGERS for h in logging.getLogger(name).handlers for f in h.filters
         if isinstance(f, PrivacyFilter)),
        PrivacyFilter(),
    )  # fmt: skip
    for name in SERVICE_LOGGERS:
        for handler in logging.getLogger(name).handlers:
            if privacy not in handler.filters:
                handler.addFilter(privacy)
    return privacy
