"""store/engine.py: store URLs printed without passwords."""

from __future__ import annotations

from store.engine import redact_url


def test_urls_are_printed_without_passwords() -> None:
    assert redact_url("postgresql+psycopg://tracerisk:s3cr%40t@db:5432/tracerisk") == (
        "postgresql+psycopg://tracerisk:***@db:5432/tracerisk"
    )
    masked = redact_url("postgresql://u@h/d?password=hunter2&sslmode=require&sslpassword=p2")
    assert "hunter2" not in masked and "p2" not in masked and "sslmode=require" in masked
    assert redact_url("sqlite:////var/lib/tracerisk/serving.db") == "sqlite:////var/lib/tracerisk/serving.db"
    assert "pw" not in redact_url("weird url://user:pw@host")
