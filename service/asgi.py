"""The pieces of the service's pure ASGI middleware (cheaper than ``@app.middleware``): the base each one
subclasses, and the ``send`` it hands the app it wraps when it needs the response's status or has to change the
response's headers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RawHeaders = list[tuple[bytes, bytes]]


class ObservedSend:
    """Passes every message on to ``send``. ``status`` is the response's status code, 500 until the response
    starts (an app that fails before answering); with ``edit_headers``, the start message's headers are replaced
    by ``edit_headers(headers)`` before they go out."""

    __slots__ = ("_edit_headers", "_send", "status")

    def __init__(
        self, send: Send, edit_headers: Callable[[Iterable[tuple[bytes, bytes]]], RawHeaders] | None = None
    ) -> None:
        self._send = send
        self._edit_headers = edit_headers
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            if self._edit_headers is not None:
                message["headers"] = self._edit_headers(message.get("headers", ()))
        await self._send(message)


class HttpMiddleware(ABC):
    """Pure ASGI middleware over HTTP requests: a lifespan or websocket scope goes to the wrapped ``app``
    untouched, an HTTP request to ``handle``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    @abstractmethod
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request, through ``self.app`` or on its own."""
