"""Request limits and response headers: a per-token rate limit (429 with Retry-After), a request body
size limit (413), and the security headers every response carries.

Both are per process: behind ``--workers N`` each worker keeps its own buckets, so the effective limit is up to N
times the configured one (put a proxy limit in front when that matters).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.asgi import HttpMiddleware, ObservedSend
from service.problems import PROBLEM_JSON, problem_body

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cache-Control": "no-store",
}
DOCS_PATHS = ("/docs", "/redoc")  # Swagger UI / ReDoc pages (development only) load their own scripts


class RateLimiter:
    """Token buckets per key: ``burst`` requests at once, refilled at ``per_minute``. At most ``max_keys`` buckets
    are kept (least recently used dropped first), so memory stays bounded whatever the keys."""

    def __init__(self, per_minute: int, burst: int, max_keys: int = 50_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str) -> int | None:
        """None when the request may go ahead (one token taken), else the seconds to wait (Retry-After)."""
        if self.rate <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait: int | None = None
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        return wait


def security_headers(hsts: bool = False, csp: bool = True) -> list[tuple[bytes, bytes]]:
    """The security headers every response carries, as raw ASGI (name, value) pairs with lower-case names (built
    once, not per response). ``csp``: with the Content-Security-Policy (off only for the documentation pages)."""
    headers = {**SECURITY_HEADERS}
    if hsts:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if csp:
        headers["Content-Security-Policy"] = CSP
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


def with_security_headers(
    headers: Iterable[tuple[bytes, bytes]], security: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """A response's raw headers with each of ``security`` (``security_headers``) it does not set itself."""
    raw = list(headers)
    present = {bytes(name).lower() for name, _ in raw}
    raw.extend(h for h in security if h[0] not in present)
    return raw


class GuardMiddleware(HttpMiddleware):
    """Outermost middleware: answers 413 to a request body over ``max_body_bytes`` (declared or
    streamed) before the app sees it, and adds the security headers to every response."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, hsts: bool = False, docs: bool = False) -> None:
        super().__init__(app)
        self.max_body = max_body_bytes
        self.docs = docs
        self.raw = security_headers(hsts, csp=False)
        self.raw_csp = security_headers(hsts)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        extra = self.raw if self.docs and str(scope.get("path", "")).startswith(DOCS_PATHS) else self.raw_csp
        send_with_headers = ObservedSend(send, lambda headers: with_security_headers(headers, extra))

        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await _too_large(send_with_headers, self.max_body)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") and not declared:
            await self.app(scope, receive, send_with_headers)
            return
        # Read the body here (it is small by the limit) so that a streamed body over the limit is refused whole.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _too_large(send_with_headers, self.max_body)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_headers)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return max(0, int(value))
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = problem_body(413, f"request body too large (limit {limit} bytes)")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
