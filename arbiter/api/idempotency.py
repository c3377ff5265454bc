"""`Idempotency-Key` for the calls that move money, stock, credit or budget.

A route that moves them takes the `IdempotencyDep` dependency and runs its work through
`run`. Without the header the work simply runs. With it:

- the first request claims (caller, key) by inserting a pending record, runs, and stores
  its response (status and body); responses of 500 and above are not stored (the claim is
  dropped, so the caller may retry);
- a repeat with the same request gets the stored response back unchanged (marked
  `Idempotent-Replayed: true`) and runs nothing;
- a repeat while the first still runs waits for its response (up to `WAIT_S`, then a 409
  problem `idempotency-key-in-progress`): two concurrent duplicates run once;
- the same key with another request (method, path or body) is a 422 problem
  `idempotency-key-reused`.

The request is identified by a SHA-256 of the method, the path and the body in canonical
JSON (keys sorted), so a reformatted body is the same request. Keys belong to the caller's
API key: two callers never see each other's records.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import Response

from arbiter.api.errors import ApiProblem
from arbiter.platform.idempotency.models import KEY_LENGTH
from arbiter.platform.idempotency.store import IdempotencyStore, Recorded

HEADER = "Idempotency-Key"
WAIT_S = 10.0
POLL_S = 0.02


def fingerprint(method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        payload = canonical.encode("utf-8")
    except (ValueError, UnicodeDecodeError):
        payload = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode("utf-8"), payload):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Idempotency:
    store: IdempotencyStore
    scope: str
    key: str | None
    fingerprint: str

    def run(self, action: Callable[[], Response]) -> Response:
        """The response of `action`, run at most once per key."""
        if self.key is None:
            return action()
        found = self.store.claim(self.scope, self.key, self.fingerprint)
        if found is None:
            return self._first(action)
        deadline = time.monotonic() + WAIT_S
        while True:
            if found is None:  # the first attempt failed and let go: this one runs instead
                return self._first(action)
            if found.fingerprint != self.fingerprint:
                raise ApiProblem(
                    422, "idempotency-key-reused", "Idempotency key reused",
                    f"the key `{self.key}` was used for another request; use a new key for a new request",
                )
            if found.done:
                return _replayed(found)
            if time.monotonic() >= deadline:
                raise ApiProblem(
                    409, "idempotency-key-in-progress", "Request in progress",
                    f"a request with the key `{self.key}` is still running; retry shortly",
                    headers={"Retry-After": "1"},
                )
            time.sleep(POLL_S)
            found = self.store.claim(self.scope, self.key, self.fingerprint)

    def _first(self, action: Callable[[], Response]) -> Response:
        assert self.key is not None
        try:
            response = action()
        except BaseException:
            self.store.release(self.scope, self.key)
            raise
        if response.status_code >= 500:
            self.store.release(self.scope, self.key)
            return response
        body = bytes(response.body).decode("utf-8")
        self.store.complete(self.scope, self.key, response.status_code, body,
                            response.media_type or "application/json")
        return response


def _replayed(found: Recorded) -> Response:
    return Response(
        content=(found.body or "").encode("utf-8"),
        status_code=found.status or 200,
        media_type=found.media_type or "application/json",
        headers={"Idempotent-Replayed": "true"},
    )


async def idempotency(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            min_length=1,
            max_length=KEY_LENGTH,
            pattern=r"^[\x21-\x7e]+$",
            description="Makes the call safe to retry: a repeat with the same key and body "
            "returns the first response and changes nothing. A UUID per operation is a good key.",
            examples=["order-20261111-0001-reserve"],
        ),
    ] = None,
) -> Idempotency:
    principal = getattr(request.state, "principal", None)
    scope = principal.key_id if principal is not None else "anonymous"
    body = await request.body() if idempotency_key is not None else b""
    return Idempotency(
        store=request.app.state.services.idempotency,
        scope=scope,
        key=idempotency_key,
        fingerprint=fingerprint(request.method, request.url.path, body),
    )


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]
