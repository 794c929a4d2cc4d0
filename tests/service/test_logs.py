"""service/logs.py: JSON log lines, the request id chosen per scope and set on the answer."""

from __future__ import annotations

import json
import logging
import re
import sys

from service.logs import (
    LOG_CONFIG,
    REQUEST_ID_HEADER,
    JsonFormatter,
    current_request_id,
    request_id_for,
    with_request_id,
)


def _record(**extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "tracerisk.service", "levelname": "WARNING", "levelno": 30})
    record.msg, record.args = "store %s unavailable", ("x",)
    record.__dict__.update(extra)
    return record


def test_json_line_with_message_extra_fields_and_the_current_request_id() -> None:
    token = current_request_id.set("req-7")
    try:
        line = JsonFormatter().format(_record(status=503, path="/v1/models"))
    finally:
        current_request_id.reset(token)
    out = json.loads(line)
    assert "\n" not in line
    assert (
        out["message"] == "store x unavailable" and out["level"] == "WARNING" and out["logger"] == "tracerisk.service"
    )
    assert out["request_id"] == "req-7" and out["status"] == 503 and out["path"] == "/v1/models"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", out["time"])
    assert "request_id" not in json.loads(JsonFormatter().format(_record()))  # outside a request: none
    assert "color_message" not in json.loads(JsonFormatter().format(_record(color_message="\x1b[1mx\x1b[0m")))


def test_exception_text_goes_in_one_json_line() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = _record(exc_info=sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line and "boom" in json.loads(line)["exception"]


def test_request_id_is_chosen_once_per_scope() -> None:
    incoming = {"headers": [(b"x-request-id", b"given-1")]}
    assert request_id_for(incoming) == b"given-1" and request_id_for(incoming) == b"given-1"
    odd = {"headers": [(b"x-request-id", b"has space")]}
    made = request_id_for(odd)
    assert made != b"has space" and len(made) == 32 and request_id_for(odd) == made
    assert request_id_for({"headers": []}) != request_id_for({"headers": []})


def test_log_config_is_accepted_by_dictconfig() -> None:
    import logging.config

    loggers = [logging.getLogger(name) for name in LOG_CONFIG["loggers"]]
    before = [(lg.handlers[:], lg.propagate, lg.level) for lg in loggers]
    try:
        logging.config.dictConfig(LOG_CONFIG)
        handler = logging.getLogger("tracerisk").handlers[0]
        assert isinstance(handler.formatter, JsonFormatter)
        assert not logging.getLogger("uvicorn.access").handlers  # the service writes its own access line
    finally:
        for lg, (handlers, propagate, level) in zip(loggers, before, strict=True):
            lg.handlers[:] = handlers
            lg.propagate, lg.level = propagate, level


def test_the_request_id_replaces_any_the_response_set_and_keeps_the_rest() -> None:
    headers = [(b"content-type", b"application/json"), (b"X-Request-ID", b"from-the-route")]
    assert with_request_id(headers, b"abc") == [(b"content-type", b"application/json"), (REQUEST_ID_HEADER, b"abc")]
