"""Payment routes (收银台, 支付回调): open the cashier for an unpaid parent order, pass the
verification the `payment` scene asked for, ask the channel where a payment stands when its
callback was lost, and take a channel's signed callback. For the storefront and the payment
gateway (role `service`); operators may sync and everyone who reads orders may read a payment.

A payment that succeeds moves every order of the parent to paid and starts fulfilment; one
the rules hold for review waits in the review queue; one refused says why and gives its
stock back. A callback whose signature does not match its body is refused (400) and changes
nothing; the same callback twice changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from arbiter.api.auth import requires
from arbiter.api.errors import problem_responses
from arbiter.api.flows import MoneyOut, PlatformDep, not_found
from arbiter.api.idempotency import IdempotencyDep
from arbiter.api.routes.orders import CODE, ParentId, Passthrough
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import ANALYST, OPERATOR, SERVICE
from arbiter.platform.orders import paying, records
from arbiter.platform.payments import service as payments

ChannelName = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE, description="wechat, alipay, card.")]

START_EXAMPLES: dict[str, Any] = {
    "pay": {"summary": "The user taps Pay", "value": {
        "user_id": "u-1001", "key": "pay-u-1001-0001", "passthrough": {"device_id": "dev-1001"}}},
}
VERIFY_EXAMPLES: dict[str, Any] = {
    "sms": {"summary": "The SMS code the user typed", "value": {"user_id": "u-1001", "proof": "123456"}},
}
CALLBACK_EXAMPLE = {"amount": "3669.00", "channel_ref": "alipay-000001", "currency": "CNY",
                    "payment_id": "pay_0001", "status": "succeeded"}


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200, pattern=CODE)
    key: str = Field(min_length=1, max_length=200, pattern=CODE, description="One payment per key.")
    passthrough: Passthrough | None = Field(default=None, max_length=20,
                                            description="Request facts the `payment` scene reads.")


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=200, pattern=CODE)
    proof: str = Field(min_length=1, max_length=200, description="The code, or the device's attestation.")
    passthrough: Passthrough | None = Field(default=None, max_length=20)


class StepOut(BaseModel):
    parent_id: str
    payment_id: str | None
    status: str = Field(description="verifying, review, pending, succeeded, refused, failed, ...")
    verification: str = Field(description="What the user must still pass: none, password, sms, face.")
    ok: bool
    reason: str | None = Field(description="Why the payment was refused, when it was.")


class PaymentOut(BaseModel):
    payment_id: str
    parent_id: str
    user_id: str
    amount: MoneyOut
    method: str
    channel: str | None
    status: str
    verification: str
    refunded: MoneyOut
    reason: str | None
    paid_at: datetime | None


class CallbackOut(BaseModel):
    payment_id: str
    parent_id: str
    status: str
    changed: bool = Field(description="False for a repeated notice.")


def step_out(step: paying.PaymentStep) -> StepOut:
    return StepOut(parent_id=step.parent_id, payment_id=step.payment_id, status=step.status,
                   verification=step.verification, ok=step.ok, reason=step.reason)


def _json(model: BaseModel) -> Response:
    return JSONResponse(model.model_dump(mode="json"))


def router() -> APIRouter:
    api = APIRouter(tags=["payments"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)

    @api.post("/orders/{parent_id}/payment", summary="Open the cashier and pay", dependencies=[requires(SERVICE)],
              responses=moves, response_model=StepOut)
    def start(parent_id: ParentId, body: Annotated[StartIn, Body(openapi_examples=START_EXAMPLES)],
              platform: PlatformDep, once: IdempotencyDep) -> Response:
        """Routes each line and locks its stock, asks the `payment` scene, and submits the
        payment to its channel unless a verification is owed first (`verifying`, with the
        method) or a person must look (`review`). On credit, approved and paid at once."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                return _json(step_out(paying.start_payment(uow, platform, parent_id, user_id=body.user_id,
                                                           passthrough=body.passthrough, key=body.key,
                                                           now=platform.clock.now())))
        return once.run(act)

    @api.post("/orders/{parent_id}/payment/verify", summary="Pass the verification the payment asked for",
              dependencies=[requires(SERVICE)], responses=moves, response_model=StepOut)
    def verify(parent_id: ParentId, body: Annotated[VerifyIn, Body(openapi_examples=VERIFY_EXAMPLES)],
               platform: PlatformDep, once: IdempotencyDep) -> Response:
        """A proof that passes submits the payment; a wrong one says so, and too many fail
        the payment and give its stock back."""
        def act() -> Response:
            with UnitOfWork(platform.db) as uow:
                return _json(step_out(paying.verify_payment(uow, platform, parent_id, user_id=body.user_id,
                                                            proof=body.proof, passthrough=body.passthrough,
                                                            now=platform.clock.now())))
        return once.run(act)

    @api.post("/orders/{parent_id}/payment/sync", summary="Ask the channel where the payment stands",
              dependencies=[requires(SERVICE, OPERATOR)], responses=moves)
    def sync(parent_id: ParentId, platform: PlatformDep) -> StepOut:
        """For a callback that never came: the channel's answer is applied as its callback
        would be."""
        with UnitOfWork(platform.db) as uow:
            records.require_parent(uow, parent_id)
            return step_out(paying.sync_payment(uow, platform, parent_id, platform.clock.now()))

    @api.get("/orders/{parent_id}/payment", summary="The parent order's payment",
             dependencies=[requires(SERVICE, OPERATOR, ANALYST)], responses=reads)
    def show(parent_id: ParentId, platform: PlatformDep) -> PaymentOut:
        with UnitOfWork(platform.db) as uow:
            found = payments.payment_of(uow, parent_id)
        if found is None:
            raise not_found(f"a payment of order {parent_id}")
        return PaymentOut(payment_id=found.payment_id, parent_id=found.order_id, user_id=found.user_id,
                          amount=MoneyOut.of(found.amount), method=found.method, channel=found.channel,
                          status=found.status, verification=found.verification,
                          refunded=MoneyOut.of(found.refunded), reason=found.reason, paid_at=found.paid_at)

    @api.post("/payments/callbacks/{channel}", summary="A channel's signed payment notice (支付回调)",
              dependencies=[requires(SERVICE)], responses=problem_responses(400, 401, 403, 404, 409, 413, 422,
                                                                            429, 500, 503), openapi_extra={"requestBody": {
                  "required": True, "content": {"application/json": {
                      "schema": {"type": "object"}, "examples": {"succeeded": {
                          "summary": "Alipay says the payment went through", "value": CALLBACK_EXAMPLE}}}}}})
    async def callback(channel: ChannelName, request: Request, platform: PlatformDep,
                       signature: Annotated[str | None, Header(
                           alias="X-Signature", max_length=256,
                           description="HMAC-SHA256 of the raw body, hex; without it the notice is refused.")] = None,
                       ) -> CallbackOut:
        """The raw body exactly as the channel sent it, with its signature; relayed by the
        payment gateway. Unsigned, forged or altered: 400. Another amount or channel: 409."""
        body = await request.body()
        now = platform.clock.now()

        def apply() -> CallbackOut:
            with UnitOfWork(platform.db) as uow:
                result = paying.payment_callback(uow, platform, channel, body, signature or "", now)
            return CallbackOut(payment_id=result.payment_id, parent_id=result.order_id, status=result.status,
                               changed=result.changed)
        return await run_in_threadpool(apply)

    return api
