"""The tag job: user tags computed from the profile and from order events.

`refresh_tags(uow, now)` reads the `order.paid`, `order.completed` and `aftersales.refunded`
events after its cursor (kept in `user_tag_cursor`, moved in the same transaction as what the
events changed, so each event is counted exactly once), records each order once in
`user_order_fact`, then recomputes the tags of every user whose orders changed, whose
computed tags expired, or who has none yet:

| tag | value | expires |
|---|---|---|
| trade_count | orders paid or completed, less those refunded in full | a day after computed |
| orders_30d | orders placed in the last 30 days | when the oldest of them leaves the window |
| last_order_at | the latest order's time (ISO 8601, UTC) | a day after computed |
| total_spent | paid less refunded, e.g. `278.00 CNY` | a day after computed |
| preferred_categories | up to 3 categories by amount spent, e.g. `phone,audio` | a day after computed |
| active | `true` when an order was placed in the last 30 days | 30 days after the latest order |
| new_user | `true` when registered in the last 7 days | 7 days after registering |

Every expiry is at most a day after computing (TAG_TTL), so the job keeps tags fresh when it
runs at least that often.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, exists, insert, select, update

from arbiter.errors import InvalidInput
from arbiter.money import DEFAULT_CURRENCY, to_decimal
from arbiter.platform.columns import as_utc, exact, tidy, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.sql import insert_if_absent, write_lock
from arbiter.platform.users.store import ACCOUNTS, CANCELLED, CURSORS, ORDER_FACTS, TAGS, dialect
from arbiter.platform.users.tags import JOB_SOURCES, NEW_USER, NEW_USER_WINDOW, tag_user

KINDS = ("order.completed", "order.paid", "aftersales.refunded")
JOB = "user_tags"
TAG_TTL = timedelta(days=1)
WINDOW = timedelta(days=30)
TOP_CATEGORIES = 3


@dataclass(frozen=True, slots=True)
class OrderFact:
    order_id: str
    currency: str
    amount: Decimal
    refunded: Decimal
    lines: tuple[tuple[str, int, Decimal], ...]  # (category, quantity, amount)
    ordered_at: datetime


@dataclass(frozen=True, slots=True)
class Computed:
    value: str
    source: str
    expires_at: datetime


def refresh_tags(uow: UnitOfWork, now: datetime, *, batch: int = 1000) -> int:
    """Count the new order events and recompute the tags that need it. Commits once; returns
    how many events were counted (0 when the job runs again with nothing new). Two jobs at
    once serialise on the cursor row."""
    now = utc(now)
    write_lock(uow.session.connection())
    uow.session.execute(insert_if_absent(CURSORS, dialect(uow), dict(name=JOB, last_event_id=0, updated_at=now)))
    cursor: int = uow.session.execute(
        select(CURSORS.c.last_event_id).where(CURSORS.c.name == JOB).with_for_update()).scalar_one()
    dirty: set[str] = set()
    counted = 0
    while page := events.read(uow, KINDS, after=cursor, limit=batch):
        for event in page:
            user_id = _count(uow, event)
            if user_id is not None:
                dirty.add(user_id)
            cursor = event.id
        counted += len(page)
    uow.session.execute(update(CURSORS).where(CURSORS.c.name == JOB).values(last_event_id=cursor, updated_at=now))
    for user_id in sorted(dirty | _stale_users(uow, now)):
        _recompute(uow, user_id, now)
    uow.commit()
    return counted


# ---------------------------------------------------------------- counting events


def _amount(value: Any) -> Decimal | None:
    try:
        return exact(to_decimal(value))
    except InvalidInput:
        return None


def _lines(raw: Any) -> list[dict[str, Any]]:
    lines = []
    for line in raw if isinstance(raw, list) else []:
        if not isinstance(line, dict) or not isinstance(line.get("category"), str):
            continue
        amount = _amount(line.get("amount", "0"))
        quantity = line.get("quantity", 1)
        if amount is None or isinstance(quantity, bool) or not isinstance(quantity, int):
            continue
        lines.append({"category": line["category"], "quantity": quantity, "amount": str(amount)})
    return lines


def _count(uow: UnitOfWork, event: events.Event) -> str | None:
    """Record one event in the order facts; the user it concerns, or None when it concerns
    nobody known (an unknown or cancelled user, a malformed payload: skipped, still counted)."""
    payload = event.payload
    user_id = payload.get("user")
    amount = _amount(payload.get("amount"))
    if not isinstance(user_id, str) or amount is None or amount < 0:
        return None
    status = uow.session.execute(select(ACCOUNTS.c.status).where(ACCOUNTS.c.id == user_id)).scalar()
    if status is None or status == CANCELLED:
        return None
    if event.kind == "aftersales.refunded":
        order_id = payload.get("order") if isinstance(payload.get("order"), str) else event.subject
        fact = uow.session.execute(select(ORDER_FACTS).where(ORDER_FACTS.c.order_id == order_id)).first()
        if fact is None or fact.user_id != user_id:
            return None
        refunded = min(fact.amount, fact.refunded + amount)  # the job holds the cursor lock
        uow.session.execute(update(ORDER_FACTS).where(ORDER_FACTS.c.order_id == order_id).values(refunded=refunded))
        return user_id
    completed_at = event.at if event.kind == "order.completed" else None
    fact = uow.session.execute(select(ORDER_FACTS).where(ORDER_FACTS.c.order_id == event.subject)).first()
    if fact is None:
        currency = payload.get("currency")
        uow.session.execute(insert(ORDER_FACTS).values(
            order_id=event.subject, user_id=user_id,
            currency=currency if isinstance(currency, str) and len(currency) == 3 else DEFAULT_CURRENCY,
            amount=amount, refunded=Decimal(0), lines=json.dumps(_lines(payload.get("lines")), ensure_ascii=False),
            ordered_at=utc(event.at), completed_at=completed_at))
    elif completed_at is not None and fact.completed_at is None:
        uow.session.execute(update(ORDER_FACTS).where(ORDER_FACTS.c.order_id == event.subject)
                            .values(completed_at=completed_at))
    return user_id


def _stale_users(uow: UnitOfWork, now: datetime) -> set[str]:
    """Users whose computed tags expired, and live users with no computed tag yet."""
    job_tag = TAGS.c.source.in_(JOB_SOURCES)
    expired = select(TAGS.c.user_id).where(job_tag, TAGS.c.expires_at <= now).distinct()
    never = select(ACCOUNTS.c.id).where(
        ACCOUNTS.c.status != CANCELLED, ~exists().where(and_(TAGS.c.user_id == ACCOUNTS.c.id, job_tag)))
    return {row[0] for row in uow.session.execute(expired)} | {row[0] for row in uow.session.execute(never)}


# ---------------------------------------------------------------- computing tags


def _facts(uow: UnitOfWork, user_id: str) -> list[OrderFact]:
    rows = uow.session.execute(select(ORDER_FACTS).where(ORDER_FACTS.c.user_id == user_id))
    facts = []
    for row in rows:
        lines = tuple((str(x["category"]), int(x["quantity"]), Decimal(x["amount"])) for x in json.loads(row.lines))
        ordered_at = as_utc(row.ordered_at)
        assert ordered_at is not None
        facts.append(OrderFact(row.order_id, row.currency, row.amount, row.refunded, lines, ordered_at))
    return facts


def _recompute(uow: UnitOfWork, user_id: str, now: datetime) -> None:
    account = uow.session.execute(
        select(ACCOUNTS.c.status, ACCOUNTS.c.registered_at).where(ACCOUNTS.c.id == user_id)).first()
    computed: dict[str, Computed] = {}
    if account is not None and account.status != CANCELLED:
        registered_at = as_utc(account.registered_at)
        assert registered_at is not None
        computed = compute_tags(registered_at, _facts(uow, user_id), now)
    uow.session.execute(delete(TAGS).where(
        TAGS.c.user_id == user_id, TAGS.c.source.in_(JOB_SOURCES), TAGS.c.tag.not_in(list(computed))))
    for tag, found in sorted(computed.items()):
        tag_user(uow, user_id, tag, source=found.source, now=now, value=found.value, expires_at=found.expires_at)


def compute_tags(registered_at: datetime, orders: Sequence[OrderFact], now: datetime) -> dict[str, Computed]:
    """The job's tags of one user at `now` (pure)."""
    cap = now + TAG_TTL

    def until(at: datetime) -> datetime:
        return min(at, cap)

    placed = [o for o in orders if o.ordered_at <= now]
    recent = [o for o in placed if o.ordered_at > now - WINDOW]
    kept = [o for o in placed if o.refunded < o.amount or o.amount == 0]
    tags = {
        "trade_count": Computed(str(len(kept)), "orders", cap),
        "orders_30d": Computed(str(len(recent)), "orders",
                               until(min(o.ordered_at for o in recent) + WINDOW) if recent else cap),
    }
    if placed:
        tags["last_order_at"] = Computed(max(o.ordered_at for o in placed).isoformat(), "orders", cap)
        spent: dict[str, Decimal] = {}
        for order in placed:
            spent[order.currency] = spent.get(order.currency, Decimal(0)) + order.amount - order.refunded
        tags["total_spent"] = Computed("; ".join(f"{tidy(total)} {currency}" for currency, total in sorted(spent.items())),
                                       "orders", cap)
    if recent:
        tags["active"] = Computed("true", "orders", until(max(o.ordered_at for o in recent) + WINDOW))
    by_category: dict[str, tuple[Decimal, int]] = {}
    for order in kept:
        for category, quantity, amount in order.lines:
            total, units = by_category.get(category, (Decimal(0), 0))
            by_category[category] = (total + amount, units + quantity)
    if by_category:
        ranked = sorted(by_category.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))
        tags["preferred_categories"] = Computed(",".join(c for c, _ in ranked[:TOP_CATEGORIES]), "orders", cap)
    if registered_at > now - NEW_USER_WINDOW:
        tags[NEW_USER] = Computed("true", "profile", until(registered_at + NEW_USER_WINDOW))
    return tags
