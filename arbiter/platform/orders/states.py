"""The order state machine: which transitions are legal for physical and virtual goods.

Physical: created → paid → shipped → delivered → completed. Virtual: created → paid →
fulfilled → completed. Unpaid orders are cancelled (by the user) or closed (timed out); paid
orders are closed when refunded in full before they complete.
"""

from __future__ import annotations

from arbiter.errors import ArbiterError

CREATED, PAID, SHIPPED, DELIVERED, FULFILLED, COMPLETED = (
    "created", "paid", "shipped", "delivered", "fulfilled", "completed")
CANCELLED, CLOSED = "cancelled", "closed"
PHYSICAL, VIRTUAL = "physical", "virtual"

_MOVES: dict[str, dict[str, frozenset[str]]] = {
    PHYSICAL: {
        CREATED: frozenset({PAID, CANCELLED, CLOSED}),
        PAID: frozenset({SHIPPED, CLOSED}),
        SHIPPED: frozenset({DELIVERED, CLOSED}),
        DELIVERED: frozenset({COMPLETED, CLOSED}),
        COMPLETED: frozenset(),
        CANCELLED: frozenset(),
        CLOSED: frozenset(),
    },
    VIRTUAL: {
        CREATED: frozenset({PAID, CANCELLED, CLOSED}),
        PAID: frozenset({FULFILLED, CLOSED}),
        FULFILLED: frozenset({COMPLETED}),
        COMPLETED: frozenset(),
        CANCELLED: frozenset(),
        CLOSED: frozenset(),
    },
}

FINAL = frozenset({COMPLETED, CANCELLED, CLOSED})


class IllegalTransition(ArbiterError):
    """An order was asked to move where its state machine does not go."""

    code = "orders.transition.illegal"


def allowed(kind: str, source: str, target: str) -> bool:
    return target in _MOVES[kind].get(source, frozenset())


def check(kind: str, order_id: str, source: str, target: str) -> None:
    if not allowed(kind, source, target):
        raise IllegalTransition(f"order {order_id} is {source}: it cannot become {target}")
