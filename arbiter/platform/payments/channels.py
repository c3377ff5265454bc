"""Payment channels (支付渠道) and routing (支付路由).

Every channel — WeChat Pay, Alipay, a card acquirer, later the credit line — sits behind one
Protocol, `Channel`: charge, query, refund, and the check of the signature on the
asynchronous callback it sends. The `Router` is configuration: each method maps to an
ordered list of channels, the first that is not marked down takes the charge (the rest are
fallbacks). Adding a channel for a new method is one call:
`router.register(credit_channel, methods=("credit",))`.

`SimulatedChannel` behaves like a real channel for the demo and the tests: it accepts charges
(or declines them when told), produces the signed callback a real channel would send, answers
queries and refunds (or refuses them when told). Its callbacks are JSON bodies signed with
HMAC-SHA256 over the raw bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from arbiter.errors import ArbiterError, InvalidInput
from arbiter.money import Money

METHODS = ("wechat", "alipay", "card", "credit")
CHANNEL_STATES = ("pending", "succeeded", "failed")


class UnknownChannel(ArbiterError):
    code = "payments.channel.unknown"


class NoRoute(ArbiterError):
    """No channel is configured for the method at all: a configuration mistake."""

    code = "payments.channel.no_route"


@dataclass(frozen=True, slots=True)
class ChannelCharge:
    accepted: bool
    channel_ref: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelRefund:
    ok: bool
    channel_ref: str | None = None
    reason: str | None = None


class Channel(Protocol):
    """What the cashier needs of a payment channel. `payment_id` and `refund_id` are the
    channel's idempotency keys: asking twice must not charge or refund twice."""

    @property
    def name(self) -> str: ...

    def charge(self, payment_id: str, amount: Money, method: str, now: datetime) -> ChannelCharge: ...

    def query(self, payment_id: str) -> str: ...  # pending | succeeded | failed

    def refund(self, refund_id: str, payment_id: str, amount: Money, now: datetime) -> ChannelRefund: ...

    def verify_signature(self, body: bytes, signature: str) -> bool: ...


@dataclass
class _Charge:
    amount: Money
    method: str
    state: str
    ref: str


class SimulatedChannel:
    """An in-memory channel: charges start pending and succeed (or fail) when `callback`
    produces the notice the channel would send."""

    def __init__(self, name: str, secret: bytes) -> None:
        if not name or not secret:
            raise InvalidInput("a simulated channel needs a name and a non-empty secret")
        self._name = name
        self._secret = secret
        self._refs = itertools.count(1)
        self.charges: dict[str, _Charge] = {}
        self.refunds: dict[str, tuple[str, Money, str]] = {}  # refund id -> payment id, amount, ref
        self.declining: str | None = None
        self.refusing_refunds: str | None = None

    @property
    def name(self) -> str:
        return self._name

    # -- for tests: how the channel behaves
    def decline(self, reason: str = "declined by the channel") -> None:
        self.declining = reason

    def accept(self) -> None:
        self.declining = None

    def fail_refunds(self, reason: str = "the channel refused the refund") -> None:
        self.refusing_refunds = reason

    def accept_refunds(self) -> None:
        self.refusing_refunds = None

    # -- the Channel protocol
    def charge(self, payment_id: str, amount: Money, method: str, now: datetime) -> ChannelCharge:
        known = self.charges.get(payment_id)
        if known is not None:  # the same payment asked twice: the first answer
            return ChannelCharge(True, known.ref)
        if self.declining is not None:
            return ChannelCharge(False, None, self.declining)
        ref = f"{self._name}-{next(self._refs):06d}"
        self.charges[payment_id] = _Charge(amount, method, "pending", ref)
        return ChannelCharge(True, ref)

    def query(self, payment_id: str) -> str:
        known = self.charges.get(payment_id)
        return known.state if known is not None else "failed"  # never charged: nothing was taken

    def refund(self, refund_id: str, payment_id: str, amount: Money, now: datetime) -> ChannelRefund:
        done = self.refunds.get(refund_id)
        if done is not None:
            return ChannelRefund(True, done[2])
        if self.refusing_refunds is not None:
            return ChannelRefund(False, None, self.refusing_refunds)
        ref = f"{self._name}-r{next(self._refs):06d}"
        self.refunds[refund_id] = (payment_id, amount, ref)
        return ChannelRefund(True, ref)

    def sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def verify_signature(self, body: bytes, signature: str) -> bool:
        if not isinstance(body, bytes) or not isinstance(signature, str):
            return False
        return hmac.compare_digest(self.sign(body), signature.strip().lower())

    def callback(self, payment_id: str, status: str = "succeeded", *,
                 amount: Money | None = None) -> tuple[bytes, str]:
        """The asynchronous notice for a charge (JSON body, HMAC-SHA256 signature), after
        the channel settled it as `status`. `amount` overrides what the notice says was paid
        (a test of a mismatching notice)."""
        if status not in CHANNEL_STATES:
            raise InvalidInput(f"status: {status!r} is not one of {', '.join(CHANNEL_STATES)}")
        known = self.charges.get(payment_id)
        if known is None:
            raise InvalidInput(f"{self._name} never charged payment {payment_id}")
        known.state = status
        paid = amount if amount is not None else known.amount
        body = json.dumps({"payment_id": payment_id, "status": status, "amount": paid.to_json()["amount"],
                           "currency": paid.currency, "channel_ref": known.ref}, sort_keys=True).encode("utf-8")
        return body, self.sign(body)


class Router:
    """Which channel takes a method's charges: the first of its list not marked down."""

    def __init__(self, channels: Iterable[Channel] = (), routes: Mapping[str, Sequence[str]] | None = None) -> None:
        self._channels: dict[str, Channel] = {}
        self._routes: dict[str, list[str]] = {}
        self._down: set[str] = set()
        for channel in channels:
            self.register(channel)
        for method, names in (routes or {}).items():
            for name in names:
                self.route(method, name)

    def register(self, channel: Channel, *, methods: Sequence[str] = ()) -> None:
        """Add a channel; for each of `methods` it becomes the last fallback (the first
        channel of a method not routed yet)."""
        if channel.name in self._channels:
            raise InvalidInput(f"a channel named `{channel.name}` is registered already")
        self._channels[channel.name] = channel
        for method in methods:
            self.route(method, channel.name)

    def route(self, method: str, name: str) -> None:
        if method not in METHODS:
            raise InvalidInput(f"method: {method!r} is not one of {', '.join(METHODS)}")
        self.channel(name)
        names = self._routes.setdefault(method, [])
        if name not in names:
            names.append(name)

    def channel(self, name: str) -> Channel:
        found = self._channels.get(name)
        if found is None:
            raise UnknownChannel(f"no channel named `{name}`; channels: {', '.join(sorted(self._channels)) or 'none'}")
        return found

    def routes(self, method: str) -> tuple[str, ...]:
        return tuple(self._routes.get(method, ()))

    def choose(self, method: str) -> Channel | None:
        """The channel for a new charge by `method`; None when every one is marked down."""
        names = self._routes.get(method)
        if not names:
            raise NoRoute(f"no channel takes {method!r} payments; configure a route for it")
        for name in names:
            if name not in self._down:
                return self._channels[name]
        return None

    def mark_down(self, name: str) -> None:
        self.channel(name)
        self._down.add(name)

    def mark_up(self, name: str) -> None:
        self.channel(name)
        self._down.discard(name)

    def is_down(self, name: str) -> bool:
        return name in self._down


def simulated_router(secret: bytes) -> Router:
    """The demo's routing: each method to its own simulated channel, with an aggregator (聚合
    支付) as everyone's fallback. Credit joins when the credit module registers its channel."""
    names = {"wechat": "wechat_sim", "alipay": "alipay_sim", "card": "unionpay_sim"}
    channels = [SimulatedChannel(n, secret) for n in (*names.values(), "aggregator_sim")]
    return Router(channels, {m: (n, "aggregator_sim") for m, n in names.items()})
