"""The merchant score (店铺评分), computed periodically for every open shop over the last 90
days, and what the rules make of it (店铺考核).

Three parts, each worth 1 to 5 points:

    shipping    hours from payment to shipment on average over the orders shipped:
                24 h or less is 5, each 12 h more one point less, 72 h or more is 1
    after-sales cases asked per paid order: none is 5, each 5% one point less, 20% or more is 1
    rating      the average of the stars users gave their orders (1 to 5)

    score = 0.4 × rating + 0.3 × shipping + 0.3 × after-sales

A part with nothing to go on (no order shipped, no order paid, no rating) counts 4.5, the
default `shop.score` of the rules. The hours and the rating are rounded to two places and the
after-sales rate to four, half up, before they are weighed; the score to two places, half up.
The inputs are the `order.paid`, `order.shipped` and `aftersales.requested` events and the
ratings kept here. `review_shops` then asks the `shop_review` scene about each open shop with
its `shop.*` facts: `restrict_shop(reason)` restricts an active shop (no publishing) with the
reason and its score; `review(reason)` flags it for the platform's staff.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from arbiter.engine.engine import Engine
from arbiter.errors import Conflict, InvalidInput
from arbiter.platform.columns import as_utc, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.events import service as events
from arbiter.platform.merchants import onboarding
from arbiter.platform.merchants.facts import shop_facts
from arbiter.platform.merchants.models import ACTIVE, RATINGS, RESTRICTED, SCORES
from arbiter.platform.orders import records, states
from arbiter.platform.sql import insert_if_absent, upsert, write_lock

WINDOW_DAYS = 90
NEUTRAL = Decimal("4.5")
WEIGHTS = (Decimal("0.4"), Decimal("0.3"), Decimal("0.3"))  # rating, shipping, after-sales
KINDS = ("order.paid", "order.shipped", "aftersales.requested")
SCENE, CLIENT = "shop_review", "merchant_service"
HUNDREDTH, TEN_THOUSANDTH = Decimal("0.01"), Decimal("0.0001")
RATEABLE = (states.DELIVERED, states.COMPLETED)


@dataclass(frozen=True)
class Score:
    shop: str
    score: Decimal
    shipping_hours: Decimal | None  # None: nothing shipped in the window
    aftersales_rate: Decimal | None  # None: nothing paid in the window
    rating: Decimal | None  # None: no rating in the window
    orders: int
    shipped: int
    cases: int
    ratings: int
    computed_at: datetime


@dataclass(frozen=True)
class ShopReview:
    """What the rules said of a shop: the effects, and what was done about them."""

    shop: str
    score: Decimal | None
    effects: tuple[str, ...]
    restricted: bool = False  # restricted now, by this review
    flagged: str | None = None  # the reason of a `review` effect


def shipping_points(hours: Decimal | None) -> Decimal:
    if hours is None:
        return NEUTRAL
    return min(Decimal(5), max(Decimal(1), Decimal(5) - (hours - 24) / 12))


def aftersales_points(rate: Decimal | None) -> Decimal:
    if rate is None:
        return NEUTRAL
    return min(Decimal(5), max(Decimal(1), Decimal(5) - rate * 20))


def combine(rating: Decimal | None, hours: Decimal | None, rate: Decimal | None) -> Decimal:
    parts = (NEUTRAL if rating is None else rating, shipping_points(hours), aftersales_points(rate))
    return sum((w * p for w, p in zip(WEIGHTS, parts, strict=True)), Decimal(0)).quantize(HUNDREDTH, ROUND_HALF_UP)


def rate_order(uow: UnitOfWork, order_id: str, *, user_id: str, stars: int, now: datetime) -> int:
    """The user rates their delivered or completed order, 1 to 5 stars, once. Commits; the
    same rating again is a replay, another one a Conflict."""
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise InvalidInput(f"stars: {stars!r} is not a whole number from 1 to 5")
    order = records.require_order(uow, order_id, user_id)
    if order.status not in RATEABLE:
        raise Conflict(f"order {order_id} is {order.status}: only a delivered order is rated",
                       code="merchants.rating.state")
    write_lock(uow.session.connection())
    uow.session.execute(insert_if_absent(RATINGS, uow.engine.dialect.name, dict(
        order_id=order_id, shop=order.shop, user_id=user_id, stars=stars, at=utc(now))))
    given = uow.session.execute(select(RATINGS.c.stars).where(RATINGS.c.order_id == order_id)).scalar_one()
    if given != stars:
        uow.session.rollback()
        raise Conflict(f"order {order_id} was rated {given} already", code="merchants.rating.given")
    uow.commit()
    return stars


def _events(uow: UnitOfWork, since: datetime, until: datetime) -> Iterable[events.Event]:
    after = 0
    while True:
        page = events.read(uow, KINDS, after=after, limit=1000)
        for event in page:
            if since <= event.at <= until:
                yield event
        if len(page) < 1000:
            return
        after = page[-1].id


def _ratings(uow: UnitOfWork, since: datetime, until: datetime) -> dict[str, tuple[int, int]]:
    rows = uow.session.execute(select(RATINGS.c.shop, func.count(), func.sum(RATINGS.c.stars))
                               .where(RATINGS.c.at >= utc(since), RATINGS.c.at <= utc(until))
                               .group_by(RATINGS.c.shop))
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def measure(uow: UnitOfWork, shops: Iterable[str], now: datetime, *, window_days: int = WINDOW_DAYS) -> list[Score]:
    """The scores of `shops` over the `window_days` up to `now`; writes nothing."""
    if isinstance(window_days, bool) or not isinstance(window_days, int) or not 1 <= window_days <= 365:
        raise InvalidInput(f"window_days: {window_days!r} is not a whole number of days from 1 to 365")
    until = utc(now)
    since = until - timedelta(days=window_days)
    wanted = set(shops)
    paid: dict[str, dict[str, datetime]] = {s: {} for s in wanted}
    shipped: dict[str, dict[str, datetime]] = {s: {} for s in wanted}
    cases = dict.fromkeys(wanted, 0)
    for event in _events(uow, since, until):
        shop = str(event.payload.get("shop", ""))
        if shop not in wanted:
            continue
        if event.kind == "order.paid":
            paid[shop][event.subject] = event.at
        elif event.kind == "order.shipped":
            shipped[shop][event.subject] = event.at
        else:
            cases[shop] += 1
    rated = _ratings(uow, since, until)
    out = []
    for shop in sorted(wanted):
        spans = [shipped[shop][o] - at for o, at in paid[shop].items() if o in shipped[shop]]
        hours = None if not spans else (Decimal(int(sum(spans, timedelta()).total_seconds()))
                                        / 3600 / len(spans)).quantize(HUNDREDTH, ROUND_HALF_UP)
        orders = len(paid[shop])
        rate = None if orders == 0 else min(Decimal(1), Decimal(cases[shop]) / orders).quantize(
            TEN_THOUSANDTH, ROUND_HALF_UP)
        count, stars = rated.get(shop, (0, 0))
        rating = None if count == 0 else (Decimal(stars) / count).quantize(HUNDREDTH, ROUND_HALF_UP)
        out.append(Score(shop, combine(rating, hours, rate), hours, rate, rating, orders, len(spans), cases[shop],
                         count, until))
    return out


def compute_scores(uow: UnitOfWork, now: datetime, *, window_days: int = WINDOW_DAYS) -> list[Score]:
    """Score every open shop over the window up to `now` and keep each one's latest score,
    which `shop.score` reads from then on. Commits."""
    shops = [m.shop for m in onboarding.merchants(uow) if m.open]
    scores = measure(uow, shops, now, window_days=window_days)
    write_lock(uow.session.connection())
    for s in scores:
        values: dict[str, Any] = dict(
            score=s.score, shipping_hours=s.shipping_hours or Decimal(0), aftersales_rate=s.aftersales_rate or Decimal(0),
            rating=s.rating or Decimal(0), orders=s.orders, shipped=s.shipped, cases=s.cases, ratings=s.ratings,
            window_days=window_days, computed_at=s.computed_at)
        uow.session.execute(upsert(SCORES, uow.engine.dialect.name, dict(shop=s.shop, **values), [SCORES.c.shop],
                                   values))
    uow.commit()
    return scores


def score_of(uow: UnitOfWork, shop: str) -> Score | None:
    """The shop's latest computed score, or None before the first."""
    row = uow.session.execute(select(SCORES).where(SCORES.c.shop == shop)).first()
    if row is None:
        return None
    computed = as_utc(row.computed_at)
    assert computed is not None
    return Score(row.shop, row.score, row.shipping_hours if row.shipped else None,
                 row.aftersales_rate if row.orders else None, row.rating if row.ratings else None,
                 row.orders, row.shipped, row.cases, row.ratings, computed)


def review_shops(uow: UnitOfWork, engine: Engine, now: datetime) -> list[ShopReview]:
    """Ask the `shop_review` scene about every open shop and act on its answer (see the
    module's docstring). Commits each restriction."""
    out = []
    for m in onboarding.merchants(uow):
        if not m.open:
            continue
        facts = shop_facts(uow, m.shop)
        decision = engine.decide(SCENE, {"shop": facts}, client=CLIENT, access="embedded")
        restricted, flagged = False, None
        for effect in decision.effects:
            reason = str(effect.get("reason") or "")
            if effect.name == "restrict_shop" and m.status == ACTIVE and not restricted:
                onboarding.change_status(uow, m.id, RESTRICTED, by=CLIENT, now=now,
                                         reason=f"score {facts.get('score', NEUTRAL)}: {reason or 'restricted'}")
                restricted = True
            elif effect.name == "review":
                flagged = reason or "review"
        uow.session.rollback()  # end the reads before the next shop
        out.append(ShopReview(m.shop, facts.get("score"), tuple(str(e) for e in decision.effects), restricted,
                              flagged))
    return out
