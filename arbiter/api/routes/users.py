"""Users routes: registration (the storefront, role `service`, on the person's behalf),
reading an account (`service`, `operator`), and a user's delivery addresses (收货地址,
`service`).

Registration asks the `register` scene. Its refusal is an answer, not an error: a 200 with
`ok: false` and the reason (`untrusted_device`, `phone_already_registered`); an account the
scene holds for a person comes back with `status: review`. The password is never echoed,
logged or returned; a phone is shown masked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from arbiter.api.auth import requires
from arbiter.api.errors import problem_responses
from arbiter.api.flows import PlatformDep, not_found
from arbiter.platform.db import UnitOfWork
from arbiter.platform.keys.models import OPERATOR, SERVICE
from arbiter.platform.users import service as users
from arbiter.platform.users.views import AddressView, UserView

UserId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")]

REGISTER_EXAMPLES: dict[str, Any] = {
    "phone": {"summary": "A person signs up on their phone",
              "value": {"phone": "13800138001", "password": "s3cret-pass",
                        "passthrough": {"device_id": "dev-13800138001", "ip_region": "上海", "client": "ios"}}},
    "scored": {"summary": "With the caller's risk score",
               "value": {"phone": "13900139001", "password": "s3cret-pass", "facts": {"risk_score": 42},
                         "passthrough": {"device_id": "dev-13900139001"}}},
}
ADDRESS_EXAMPLES: dict[str, Any] = {
    "home": {"summary": "A Shanghai address, made the default",
             "value": {"name": "张三", "phone": "13800138001", "region": "上海", "city": "上海市",
                       "detail": "浦东新区世纪大道100号", "default": True}},
}


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(min_length=11, max_length=20, description="11 digits starting with 1.")
    password: str = Field(min_length=8, max_length=128, description="8 to 128 characters; kept only as a hash.")
    facts: dict[str, Any] = Field(default_factory=dict, max_length=30,
                                  description="What the caller knows of the person for the rules: risk_score, ...")
    passthrough: dict[str, Any] = Field(default_factory=dict, max_length=30,
                                        description="The client's tags: device_id, ip_region, is_emulator, ...")


class RegistrationOut(BaseModel):
    ok: bool = Field(description="Whether an account was created.")
    user_id: str | None
    status: str | None = Field(description="active, or review when a person must look first.")
    reason: str | None = Field(description="Why it was refused or held: untrusted_device, phone_already_registered, ...")
    verification: str | None = Field(description="How the code confirming the phone was sent (sms).")
    challenge_id: str | None


class UserOut(BaseModel):
    id: str
    phone_masked: str = Field(examples=["138****8001"])
    status: str = Field(description="active, review, refused or cancelled.")
    nickname: str
    real_name_masked: str | None
    id_number_masked: str | None
    level: int
    phone_verified: bool
    registered_at: datetime
    last_login_at: datetime | None
    cancelled_at: datetime | None


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, description="Who receives the parcel.")
    phone: str = Field(min_length=11, max_length=20)
    region: str = Field(min_length=1, max_length=64, description="Province or municipality: 上海.")
    city: str = Field(min_length=1, max_length=64)
    detail: str = Field(min_length=1, max_length=200)
    default: bool = Field(default=False, description="Make it the default (the first address always is).")


class AddressOut(BaseModel):
    id: str
    user_id: str
    name: str
    phone: str
    region: str
    city: str
    detail: str
    is_default: bool


def user_out(view: UserView) -> UserOut:
    return UserOut(id=view.id, phone_masked=view.phone_masked, status=view.status, nickname=view.nickname,
                   real_name_masked=view.real_name_masked, id_number_masked=view.id_number_masked, level=view.level,
                   phone_verified=view.phone_verified, registered_at=view.registered_at,
                   last_login_at=view.last_login_at, cancelled_at=view.cancelled_at)


def address_out(view: AddressView) -> AddressOut:
    return AddressOut(id=view.id, user_id=view.user_id, name=view.name, phone=view.phone, region=view.region,
                      city=view.city, detail=view.detail, is_default=view.is_default)


def router() -> APIRouter:
    api = APIRouter(prefix="/users", tags=["users"])
    moves = problem_responses(401, 403, 404, 409, 413, 422, 429, 500, 503)
    reads = problem_responses(401, 403, 404, 422, 429, 500, 503)

    @api.post("", summary="Register an account (注册)", dependencies=[requires(SERVICE)], responses=moves)
    def register(body: Annotated[RegisterIn, Body(openapi_examples=REGISTER_EXAMPLES)],
                 platform: PlatformDep) -> RegistrationOut:
        """By phone and password, as the `register` scene decides: created (`active`), held
        for a person (`review`), or refused (`ok: false` with the reason; nothing created).
        A code is sent to the phone to confirm it."""
        with UnitOfWork(platform.db) as uow:
            done = users.register(uow, platform.decisions, phone=body.phone, password=body.password,
                                  context={"user": body.facts, "passthrough": body.passthrough},
                                  now=platform.clock.now())
        return RegistrationOut(ok=done.ok, user_id=done.user_id, status=done.status, reason=done.reason,
                               verification=done.verification, challenge_id=done.challenge_id)

    @api.get("/{user_id}", summary="An account", dependencies=[requires(SERVICE, OPERATOR)], responses=reads)
    def get_user(user_id: UserId, platform: PlatformDep) -> UserOut:
        """Its status, level and masked personal data (never a clear number)."""
        with UnitOfWork(platform.db) as uow:
            found = users.get_user(uow, user_id)
        if found is None:
            raise not_found(f"user {user_id}")
        return user_out(found)

    @api.post("/{user_id}/addresses", summary="Add a delivery address", status_code=201,
              dependencies=[requires(SERVICE)], responses=moves)
    def add_address(user_id: UserId, body: Annotated[AddressIn, Body(openapi_examples=ADDRESS_EXAMPLES)],
                    platform: PlatformDep) -> AddressOut:
        """At most 20 per user; the default one gives the user's region and city. A cancelled
        account is a 409."""
        with UnitOfWork(platform.db) as uow:
            address_id = users.add_address(uow, user_id, name=body.name, phone=body.phone, region=body.region,
                                           city=body.city, detail=body.detail, default=body.default)
            return address_out(users.address_of(uow, user_id, address_id))

    @api.get("/{user_id}/addresses", summary="A user's delivery addresses", dependencies=[requires(SERVICE)],
             responses=reads)
    def list_addresses(user_id: UserId, platform: PlatformDep) -> list[AddressOut]:
        """The default first, then in the order they were added."""
        with UnitOfWork(platform.db) as uow:
            if users.get_user(uow, user_id) is None:
                raise not_found(f"user {user_id}")
            return [address_out(a) for a in users.list_addresses(uow, user_id)]

    return api
