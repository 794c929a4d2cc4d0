"""Logging for operators: one JSON object per line on stderr, a request id on every request.

Every HTTP request gets an id: a sane incoming ``X-Request-ID`` (1-128 characters of letters, digits and
``._:-``) is kept, anything else is replaced by a new random one. The id is echoed in the response's
``X-Request-ID`` header, written in the request's access log line (logger ``tracerisk.access``) and added to every
other log line written while the request is handled.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from starlette.types import Receive, Scope, Send

from service.asgi import HttpMiddleware, ObservedSend

REQUEST_ID_HEADER = b"x-request-id"
REQUEST_ID_SCOPE = "tracerisk.request_id"  # ASGI scope key: the id chosen for this request (server-side only)
SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")

access_log = logging.getLogger("tracerisk.access")
current_request_id: ContextVar[str | None] = ContextVar("tracerisk_request_id", default=None)

# The standard attributes of a LogRecord: everything else on a record came from ``extra=`` and is written out
# (but uvicorn's color_message, the message again with terminal colour codes).
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601, milliseconds, Z), level, logger, message, the request id
    when the record was written while a request was handled, the record's ``extra`` fields, and the exception
    text."""

    _stamp: tuple[int, str] = (-1, "")  # (whole UTC second, its ISO text): one strftime a second, not a record

    def format(self, record: logging.LogRecord) -> str:
        second, stamp = self._stamp  # one read: another thread may replace it meanwhile
        if second != int(record.created):
            second = int(record.created)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._stamp = (second, stamp)
        out: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id is not None:
            out["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return _ENCODE(out)


_ENCODE = json.JSONEncoder(default=str, ensure_ascii=False, separators=(", ", ": ")).encode


LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "tracerisk": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},  # tracerisk.access instead
    },
}
"""uvicorn's ``log_config`` for ``tracerisk serve``: the service's and uvicorn's own lines as JSON on stderr."""


def configure() -> None:
    """Give the ``tracerisk`` loggers a JSON handler on stderr unless logging was configured already (by
    LOG_CONFIG, an operator's ``--log-config``, or a root handler): for ``uvicorn service.main:app`` run bare."""
    service_logger = logging.getLogger("tracerisk")
    if service_logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    service_logger.addHandler(handler)
    service_logger.setLevel(logging.INFO)


def request_id_for(scope: Scope) -> bytes:
    """The request's id: the one chosen earlier for this scope, a sane incoming X-Request-ID, or a new random one
    (32 hex digits). Remembered in the scope so that every layer answers with the same id."""
    chosen: bytes | None = scope.get(REQUEST_ID_SCOPE)
    if chosen is not None:
        return chosen
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER and SANE_REQUEST_ID.fullmatch(value):
            chosen = bytes(value)
            break
    else:
        chosen = os.urandom(16).hex().encode("ascii")
    scope[REQUEST_ID_SCOPE] = chosen
    return chosen


def log_access(scope: Scope, request_id: bytes, status: int, started: float) -> None:
    """The access line of one request (path without its query string; ``started``: time.perf_counter()). The
    record goes through the access logger's filters and handlers as ``info`` would send it, without looking up
    the caller's source line (always this function's)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    method, path = scope["method"], scope["path"]
    extra = {
        "request_id": request_id.decode("ascii"),
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(1000.0 * (time.perf_counter() - started), 3),
        "client": client[0] if client else None,
    }
    record = access_log.makeRecord(
        access_log.name, logging.INFO, __file__, 0, "%s %s %d", (method, path, status), None, "log_access", extra
    )
    access_log.handle(record)


def with_request_id(headers: Iterable[tuple[bytes, bytes]], request_id: bytes) -> list[tuple[bytes, bytes]]:
    """A response's raw headers with the request id as its X-Request-ID (replacing any the response set)."""
    return [*(h for h in headers if bytes(h[0]).lower() != REQUEST_ID_HEADER), (REQUEST_ID_HEADER, request_id)]


class RequestIdMiddleware(HttpMiddleware):
    """Outermost middleware: the request id (``request_id_for``) in the response header, in the context of
    everything logged while the request is handled, and in the access line written when it ends."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = request_id_for(scope)
        token = current_request_id.set(request_id.decode("ascii"))
        send_with_id = ObservedSend(send, lambda headers: with_request_id(headers, request_id))
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log_access(scope, request_id, send_with_id.status, started)
            current_request_id.reset(token)
