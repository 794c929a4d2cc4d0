"""The middlewares' ``send``: the response status it keeps and the start headers it edits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from starlette.types import Message

from service.asgi import ObservedSend

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
