"""ASGI middleware of the HTTP service: the bound on request body size.

The bound is enforced before any route parses the body: a declared `Content-Length` over the
limit is refused at once, and a body sent without one (chunked) is read up to the limit and
refused as soon as it passes it. Either way the client gets a 413 problem.

Pure ASGI, and on the way of every request: it reads the raw header list and builds a
`Request` only to answer a problem.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arbiter.api.errors import PROBLEM_BASE, problem


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            if not declared.isdigit():
                response = problem(Request(scope), 400, detail="the Content-Length header is not a number")
                await response(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
        # Read the body here, bounded, and replay it to the app: the length header may be
        # absent, and must not be trusted to be truthful.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            Request(scope),
            413,
            type_=PROBLEM_BASE + "body-too-large",
            title="Request body too large",
            detail=f"the request body is larger than the limit of {self.max_bytes} bytes",
            limit_bytes=self.max_bytes,
        )
        await response(scope, receive, send)
