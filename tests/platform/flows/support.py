"""Shared steps of the order tests: a registered user with a Shanghai address, and paying a
parent order through the simulated channel."""

from __future__ import annotations

from datetime import datetime

from arbiter.platform.db import UnitOfWork
from arbiter.platform.orders import paying
from arbiter.platform.payments import service as payments
from arbiter.platform.runtime import Platform
from arbiter.platform.users import service as users

DEVICE = {"device_id": "dev-test-1", "ip_region": "上海", "client": "ios"}


def shopper(uow: UnitOfWork, platform: Platform, phone: str, now: datetime, region: str = "上海") -> tuple[str, str]:
    registered = users.register(uow, platform.decisions, phone=phone, password="s3cret-pass",
                                context={"passthrough": DEVICE}, now=now)
    assert registered.ok and registered.user_id is not None, registered.reason
    address = users.add_address(uow, registered.user_id, name="王五", phone=phone, region=region, city=region,
                                detail="人民路1号")
    return registered.user_id, address


def pay(uow: UnitOfWork, platform: Platform, parent_id: str, user_id: str, now: datetime) -> paying.PaymentStep:
    step = paying.start_payment(uow, platform, parent_id, user_id=user_id, passthrough=DEVICE,
                                key=f"pay-{parent_id}", now=now)
    if step.reason is not None:
        return step
    payment = payments.payment_of(uow, parent_id)
    assert payment is not None and payment.channel is not None
    body, signature = platform.router.channel(payment.channel).callback(payment.payment_id)
    paying.payment_callback(uow, platform, payment.channel, body, signature, now)
    return step
