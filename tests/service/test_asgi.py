"""The middlewares' base (non-HTTP scopes pass through untouched) and their ``send``: the response status it keeps
and the start headers it edits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from starlette.types import Message, Receive, Scope, Send

from service.asgi import HttpMiddleware, ObservedSend

EditHeaders = Callable[[Iterable[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]]


def _run(messages: list[Message], edit_headers: EditHeaders | None = None) -> tuple[ObservedSend, list[Message]]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    observed = ObservedSend(send, edit_headers)

    async def answer() -> None:
        for message in messages:
            await observed(message)

    asyncio.run(answer())
    return observed, sent


START: Message = {"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]}
BODY: Message = {"type": "http.response.body", "body": b"gone"}


def test_keeps_the_status_and_passes_every_message_on() -> None:
    observed, sent = _run([dict(START), BODY])
    assert observed.status == 404
    assert sent == [START, BODY]


def test_status_is_500_until_the_response_starts() -> None:
    observed, sent = _run([])
    assert observed.status == 500 and sent == []


def test_edits_the_start_headers_only() -> None:
    def add_id(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        return [*headers, (b"x-request-id", b"abc")]

    observed, sent = _run([dict(START), BODY], add_id)
    assert sent[0]["headers"] == [(b"content-type", b"text/plain"), (b"x-request-id", b"abc")]
    assert sent[1] == BODY and observed.status == 404


class _Marking(HttpMiddleware):
    """Answers every HTTP request through the app with the scope marked."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app({**scope, "marked": True}, receive, send)


def test_the_base_hands_http_requests_to_handle_and_passes_other_scopes_on_untouched() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        pass

    middleware = _Marking(app)
    for scope_type in ("lifespan", "websocket", "http"):
        asyncio.run(middleware({"type": scope_type}, receive, send))
    assert seen == [{"type": "lifespan"}, {"type": "websocket"}, {"type": "http", "marked": True}]
