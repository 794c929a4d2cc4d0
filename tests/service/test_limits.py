"""service/limits.py: the security headers added to an answer without overriding what the answer set itself."""

from __future__ import annotations

from service.limits import security_headers, with_security_headers


def test_security_headers_are_added_unless_the_answer_sets_them() -> None:
    security = security_headers(hsts=True)
    names = [name for name, _ in security]
    assert b"strict-transport-security" in names and b"content-security-policy" in names
    own_policy = (b"content-security-policy", b"default-src 'none'")
    out = with_security_headers([(b"content-length", b"2"), own_policy], security)
    assert out[:2] == [(b"content-length", b"2"), own_policy]
    assert [h for h in out if h[0] == b"content-security-policy"] == [own_policy]
    assert {name for name, _ in out} == {b"content-length", *names}


def test_without_hsts_no_transport_security_header() -> None:
    assert b"strict-transport-security" not in {name for name, _ in security_headers(hsts=False)}
