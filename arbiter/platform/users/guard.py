"""Asking the risk scenes (`register`, `login`) and feeding their velocity counters.

The caller's `context` is what the client sent with the request: either the passthrough tags
themselves (`{"device_id": ..., "ip": ..., "ip_region": ..., "is_emulator": ...}`) or a
context with `passthrough` and `user` namespaces, where `user` carries facts from elsewhere
(the risk model's `risk_score`). Facts the users module owns (id, registration, tags,
is_new_device, failed_logins_1h, ...) always replace what the caller sent for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arbiter.engine.engine import Engine
from arbiter.engine.stores import StoreUnavailable
from arbiter.engine.velocity import record_event
from arbiter.platform.users.validation import InvalidField

CLIENT = "user_service"
ACCESS = "embedded"
NAMESPACES = ("user", "passthrough")


def split_context(context: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(user facts from the caller, passthrough tags)."""
    if context is None:
        return {}, {}
    if not isinstance(context, Mapping):
        raise InvalidField("context", f"expected an object, got {type(context).__name__}")
    if not any(name in context for name in NAMESPACES):
        return {}, dict(context)
    unknown = sorted(str(k) for k in context if k not in NAMESPACES)
    if unknown:
        raise InvalidField("context", f"unknown namespace(s) {', '.join(unknown)}: only user and passthrough")
    parts = []
    for name in NAMESPACES:
        part = context.get(name) or {}
        if not isinstance(part, Mapping):
            raise InvalidField(f"context.{name}", f"expected an object, got {type(part).__name__}")
        parts.append(dict(part))
    return parts[0], parts[1]


def device_of(passthrough: Mapping[str, Any]) -> str:
    device = passthrough.get("device_id")
    return device.strip() if isinstance(device, str) else ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the scene said: pass, review, verify or reject (the strongest effect wins)."""

    action: str
    reason: str | None = None
    method: str | None = None
    effects: tuple[Any, ...] = ()


_STRENGTH = ("reject", "review", "verify", "pass")


def decide(engine: Engine, scene: str, context: Mapping[str, Any]) -> Verdict:
    """A scene that answers none of pass, review, verify or reject is taken as a refusal:
    the risk scenes fail closed."""
    decision = engine.decide(scene, context, client=CLIENT, access=ACCESS)
    effects = tuple(decision.effects)
    for action in _STRENGTH:
        for effect in effects:
            if effect.name == action:
                return Verdict(action, effect.get("reason"), effect.get("method"), effects)
    return Verdict("reject", "no_decision", None, effects)


def record(engine: Engine | None, kind: str, context: Mapping[str, Any], at: datetime, event_id: str) -> None:
    """Feed one event (login, login_failed) to the engine's velocity counters. When their
    store is down the event is lost to the counters only: failed logins are also kept in the
    database (`user.failed_logins_1h`), and the next decision fails closed anyway."""
    if engine is None:
        return
    try:
        record_event(engine.ruleset, engine.velocity, kind, context, at, event_id)
    except StoreUnavailable:
        pass
