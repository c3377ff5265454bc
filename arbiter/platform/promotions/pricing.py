"""The price trial (试算) on live data, and the checkout moves that spend what it priced.

Adapters connect the stores to the pure trial: `StoreBudgetView` reads budgets and per-user
limits (a preview: nothing moves), `LivePromotions` says which promotions are active (their
lifecycle) and which goods were approved into those that require registration (商品提报).

Use cases, one function for every place a price is shown or spent:
- `quote`: the product page (到手价: a one-line cart), the cart and the checkout page; the user's
  held coupons and those they could still claim are assumed; nothing moves.
- `place`: the order is placed. The trial runs again, then every applied promotion's budget is
  reserved with its discount and every coupon it uses is reserved (claimed first if the user
  did not hold it yet). A refusal (budget exhausted, per-user limit, coupon gone) gives that
  promotion up: the order is priced again without it, the holds whose amounts changed are
  given back, and the result says why the promotion was not applied. Idempotent by order id:
  a repeat returns the first result.
- `confirm` at payment (coupons redeemed, reservations confirmed) and `cancel` on cancel or
  timeout (budgets released, coupons returned, even after payment), each exactly once however
  often it arrives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, or_, select

from arbiter.clock import FixedClock
from arbiter.dsl.compiler import Ruleset
from arbiter.dsl.model import Program, Promotion
from arbiter.engine.pricing import BudgetView, Cart, TrialResult, trial
from arbiter.engine.pricing.model import NotApplied
from arbiter.errors import ArbiterError, CurrencyMismatch, InvalidInput
from arbiter.money import Money
from arbiter.platform.columns import MAX_AMOUNT, SCALE, utc
from arbiter.platform.db import UnitOfWork
from arbiter.platform.promotions import holds as h
from arbiter.platform.promotions import lifecycle, registration, service
from arbiter.platform.promotions.budgets import (
    PER_DEVICE,
    PER_USER,
    PER_USER_PER_DAY,
    STRICT,
    BudgetState,
    BudgetStore,
    BudgetTerms,
)
from arbiter.platform.promotions.holds import Hold, Move
from arbiter.platform.promotions.lifecycle import approve_all
from arbiter.platform.promotions.models import CLAIMS, TEMPLATES

__all__ = [
    "CouponOffer", "CouponPick", "LivePromotions", "Placed", "Quote", "Settled", "StoreBudgetView",
    "PriceDidNotSettle", "approve_all", "cancel", "confirm", "coupon_offer", "define_budgets", "place",
    "placed", "quote",
]

UNLIMITED = MAX_AMOUNT - SCALE  # the money total of a budget kept only for its limits
DEFAULT_LEASE = timedelta(seconds=60)  # how long a place may run before another call takes over
ORDER_BUSY = "the order is being placed by another call"
NO_ORDER = "no such order"
LIMITS = (PER_USER, PER_USER_PER_DAY, PER_DEVICE)


def _limited(p: Promotion) -> bool:
    """Whether spending `p` moves a budget in the store (money, uses or per-user counts)."""
    return p.budget is not None or p.uses is not None or p.per_user is not None


def define_budgets(store: BudgetStore, program: Program) -> dict[str, BudgetState]:
    """Define in `store` the budget of every promotion that declares one, a total of uses or a
    per-user limit (whose counters live beside a budget); what is used stays. Run it whenever
    the rules change the figures."""
    return {
        name: store.define(name, Money(p.budget if p.budget is not None else UNLIMITED, p.currency), p.uses)
        for name, p in sorted(program.promotions.items()) if _limited(p)
    }


class StoreBudgetView:
    """`BudgetView` over a budget store for one user, device and day; reads only. Each figure
    is read once per view, so one trial sees one snapshot of every budget."""

    def __init__(self, store: BudgetStore, program: Program, user: str | None, device: str | None,
                 day: date) -> None:
        self.store = store
        self.program = program
        self.user = user
        self.device = device
        self.day = day
        self._remaining: dict[str, Decimal | None] = {}
        self._uses: dict[tuple[str, str | None], int | None] = {}

    def remaining(self, promotion: str) -> Decimal | None:
        """What is left of the promotion's budget in its currency (0 once its uses are all
        taken); None when it declares neither a budget nor a number of uses."""
        if promotion not in self._remaining:
            self._remaining[promotion] = self._read_remaining(promotion)
        return self._remaining[promotion]

    def _read_remaining(self, promotion: str) -> Decimal | None:
        p = self.program.promotions.get(promotion)
        if p is None or (p.budget is None and p.uses is None):
            return None
        state = self.store.state(promotion)
        if state.total.currency != p.currency:
            raise CurrencyMismatch(f"promotion {promotion!r} is priced in {p.currency}, its budget in {state.total.currency}")
        if state.uses_total is not None and state.uses_used >= state.uses_total:
            return Decimal(0)
        return None if p.budget is None else state.remaining.amount

    def uses_left(self, promotion: str, user: str | None) -> int | None:
        """0 when the user (or device) reached the promotion's limit, 1 while they may have it
        once more (the store says no more than that); None with no limit or no user."""
        if (promotion, user) not in self._uses:
            self._uses[(promotion, user)] = self._read_uses(promotion, user)
        return self._uses[(promotion, user)]

    def _read_uses(self, promotion: str, user: str | None) -> int | None:
        p = self.program.promotions.get(promotion)
        user = user if user is not None else self.user
        if p is None or p.per_user is None or user is None:
            return None
        preview = self.store.preview(promotion, Money(SCALE, p.currency), user=user, device=self.device,
                                     per_user=p.per_user, day=self.day)
        return 0 if preview.reason in LIMITS else 1


class LivePromotions:
    """`PromotionStatus` from the stored lifecycles and registrations at `now`, read once (two
    queries). A promotion never moved through its lifecycle is a draft: not active."""

    def __init__(self, uow: UnitOfWork, program: Program, now: datetime) -> None:
        self.statuses = lifecycle.statuses(uow, program, now)
        needing = [name for name, p in program.promotions.items() if p.registration]
        self._approved = registration.approved_by_promotion(uow, needing) if needing else {}

    def active(self, promotion: str) -> bool:
        return self.statuses.get(promotion) == lifecycle.ACTIVE

    def registered(self, promotion: str) -> frozenset[str]:
        return self._approved.get(promotion, frozenset())


class _OrderView:
    """The budgets as one order sees them while placing: what it already holds counts as
    available to it, and a limit it already passed is not counted against it again."""

    def __init__(self, inner: BudgetView, held: Mapping[str, Decimal]) -> None:
        self.inner = inner
        self.held = held

    def remaining(self, promotion: str) -> Decimal | None:
        left = self.inner.remaining(promotion)
        if left is None or promotion not in self.held:
            return left
        return left + self.held[promotion]

    def uses_left(self, promotion: str, user: str | None) -> int | None:
        return None if promotion in self.held else self.inner.uses_left(promotion, user)


# -- coupons ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CouponOffer:
    """The coupons a user may use now: held ones by template (soonest to expire first) and the
    templates they could still claim."""

    held: Mapping[str, tuple[int, ...]]
    claimable: frozenset[str]

    @property
    def templates(self) -> frozenset[str]:
        return frozenset(self.held) | self.claimable


def coupon_offer(uow: UnitOfWork, user: str | None, device: str | None, now: datetime) -> CouponOffer:
    """What `user` holds and could claim at `now` (claim period, stock, per-user and per-device
    limits); without a user, what anyone could claim. Reads only."""
    held: dict[str, list[int]] = {}
    if user is not None:
        for coupon in service.held_coupons(uow, user, now):
            held.setdefault(coupon.template, []).append(coupon.id)
    at = utc(now)
    templates = uow.session.execute(
        select(TEMPLATES.c.code, TEMPLATES.c.claim_limit, TEMPLATES.c.device_limit).where(
            or_(TEMPLATES.c.starts_at.is_(None), TEMPLATES.c.starts_at <= at),
            or_(TEMPLATES.c.ends_at.is_(None), TEMPLATES.c.ends_at > at),
            or_(TEMPLATES.c.stock_total.is_(None), TEMPLATES.c.stock_issued < TEMPLATES.c.stock_total),
        )
    ).all()
    holders = [and_(CLAIMS.c.kind == kind, CLAIMS.c.holder == holder)
               for kind, holder in (("user", user), ("device", device)) if holder is not None]
    counts: dict[tuple[str, str], int] = {}
    if holders:
        # `count` is also a method of every row: read the column under another name.
        claimed = select(CLAIMS.c.template, CLAIMS.c.kind, CLAIMS.c.count.label("claimed"))
        for row in uow.session.execute(claimed.where(or_(*holders))):
            counts[(row.template, row.kind)] = int(row.claimed)
    claimable = set()
    for t in templates:
        if t.claim_limit is not None and counts.get((t.code, "user"), 0) >= t.claim_limit:
            continue
        if t.device_limit is not None and (device is None or counts.get((t.code, "device"), 0) >= t.device_limit):
            continue
        claimable.add(t.code)
    return CouponOffer({k: tuple(v) for k, v in held.items()}, frozenset(claimable))


@dataclass(frozen=True, slots=True)
class CouponPick:
    """The coupon an applied coupon promotion uses: a held one, or None: claimed at placing."""

    promotion: str
    template: str
    coupon: int | None


def _picks(program: Program, result: TrialResult, offer: CouponOffer) -> tuple[CouponPick, ...]:
    picks: list[CouponPick] = []
    used: set[int] = set()
    for applied in result.applied:
        p = program.promotions[applied.promotion]
        if p.type != "coupon":
            continue
        free = [cid for cid in offer.held.get(p.template, ()) if cid not in used]
        picks.append(CouponPick(p.name, p.template, free[0] if free else None))
        used.update(free[:1])
    return tuple(picks)


# -- quoting ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quote:
    result: TrialResult
    coupons: tuple[CouponPick, ...]


def _price(uow: UnitOfWork, ruleset: Ruleset, cart: Cart, budgets: BudgetStore, now: datetime, *,
           holds: Sequence[Hold] = (), excluded: Mapping[str, str] | None = None,
           explain: bool = False) -> tuple[TrialResult, CouponOffer]:
    """The trial on live data (ending its reads before returning): held and claimable coupons,
    live promotions, budgets as the order sees them; promotions in `excluded` left out, with
    the reason they were refused."""
    program = ruleset.program
    excluded = excluded or {}
    offer = coupon_offer(uow, cart.user, cart.device, now)
    live = LivePromotions(uow, program, now)
    uow.session.rollback()
    mine = [hold for hold in holds if hold.live]
    templates = set(offer.templates)
    templates.update(program.promotions[x.promotion].template for x in mine
                     if x.coupon is not None and x.promotion in program.promotions)
    view = StoreBudgetView(budgets, program, cart.user, cart.device, utc(now).date())
    names = [name for name in sorted(ruleset.promotions) if name not in excluded]
    result = trial(ruleset, replace(cart, coupons=frozenset(templates), now=now), clock=FixedClock(now),
                   budgets=_OrderView(view, {x.promotion: x.amount for x in mine}), promotions=names,
                   status=live, explain=explain)
    if excluded:
        refused = [NotApplied(name, program.promotions[name].display, reason,
                              "refused when the order was placed; priced without it")
                   for name, reason in excluded.items()]
        result = replace(result, not_applied=tuple(sorted((*result.not_applied, *refused),
                                                          key=lambda x: x.promotion)))
    return result, offer


def quote(uow: UnitOfWork, ruleset: Ruleset, cart: Cart, budgets: BudgetStore, now: datetime, *,
          explain: bool = False) -> Quote:
    """The best price of `cart` for its user at `now`, assuming the coupons they hold or could
    claim, with live promotions and budgets read as they are: nothing moves. The product page's
    到手价 is the quote of a one-line cart."""
    result, offer = _price(uow, ruleset, cart, budgets, now, explain=explain)
    return Quote(result, _picks(ruleset.program, result, offer))


# -- placing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """The order as placed: its priced result (None while another call places it), the holds
    it keeps (budget reservations and coupons), whether this is a repeat, and why not placed."""

    order_id: str
    status: str
    result: TrialResult | None
    holds: tuple[Hold, ...] = ()
    replayed: bool = False
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


class _Lost(Exception):
    """Another call took the order over (a cancel, or a retry after the lease ran out)."""


class PriceDidNotSettle(ArbiterError):
    """Placing re-priced more often than the promotions could explain: a store misbehaves."""

    code = "promotions.checkout.unsettled"


def _terms(p: Promotion) -> BudgetTerms:
    # A gift's budget counts whole gifts: it is never granted in part.
    return BudgetTerms(STRICT if p.type == "gift" else p.budget_policy, per_user=p.per_user)


def _wanted(program: Program, result: TrialResult) -> dict[str, Decimal]:
    """The amount to hold for each applied promotion that spends a budget or a coupon."""
    wanted: dict[str, Decimal] = {}
    for applied in result.applied:
        p = program.promotions[applied.promotion]
        amount = applied.discount
        if p.type == "gift" and amount <= 0:
            amount = p.gift_value or Decimal(0)
        if amount > 0 and (p.type == "coupon" or _limited(p)):
            wanted[p.name] = amount
    return wanted


class _Placing:
    """One call's work on one order: its holds, written before and after every move."""

    def __init__(self, uow: UnitOfWork, budgets: BudgetStore, program: Program, cart: Cart,
                 record: h.OrderRecord, now: datetime) -> None:
        self.uow, self.budgets, self.program, self.now = uow, budgets, program, now
        self.order_id, self.token = record.order_id, record.token
        self.user, self.device = record.user, cart.device
        self.holds: list[Hold] = list(record.holds)
        self.day = utc(now).date()

    def save(self, *, commit: bool = True) -> None:
        if not h.save(self.uow, self.order_id, self.token, self.holds, commit=commit):
            raise _Lost(self.order_id)

    def replace_hold(self, old: Hold, new: Hold) -> None:
        self.holds[self.holds.index(old)] = new

    def give_back(self, hold: Hold) -> None:
        h.give_back(self.uow, self.budgets, hold, self.now)
        self.replace_hold(hold, replace(hold, state=h.RELEASED))
        self.save()

    def give_back_all(self) -> None:
        for hold in [x for x in self.holds if x.live]:
            self.give_back(hold)

    def settle(self, wanted: Mapping[str, Decimal], result: TrialResult, offer: CouponOffer,
               excluded: dict[str, str]) -> bool:
        """Make the holds match `wanted`; False when a refusal or a partial grant means the
        order must be priced again."""
        freed: dict[str, list[int]] = {}  # coupons given back here: usable again at once
        for hold in [x for x in self.holds if x.live]:
            if wanted.get(hold.promotion) != hold.amount:
                self.give_back(hold)
                if hold.coupon is not None and hold.promotion in self.program.promotions:
                    freed.setdefault(self.program.promotions[hold.promotion].template, []).append(hold.coupon)
        held = {x.promotion for x in self.holds if x.live}
        picks = {pick.promotion: pick for pick in _picks(self.program, result, offer)}
        for name, amount in wanted.items():
            if name in held:
                continue
            p = self.program.promotions[name]
            hold = Hold(name, h.next_key(self.holds, name, self.order_id), amount, result.currency)
            if p.type == "coupon":
                coupon = picks[name].coupon
                if coupon is None and freed.get(p.template):
                    coupon = freed[p.template].pop(0)
                if coupon is None:
                    self.uow.session.rollback()
                    claimed = service.claim(self.uow, p.template, self.user, self.now, self.device, key=hold.key)
                    if not claimed.ok or claimed.coupon_id is None:
                        excluded[name] = claimed.reason or "coupon not claimed"
                        return False
                    coupon = claimed.coupon_id
                spec = service.template(self.uow, p.template)
                coupon_budget = None if spec is None else spec.promotion
                hold = replace(hold, coupon=coupon, coupon_budget=coupon_budget,
                               budget=name if _limited(p) and coupon_budget != name else None)
            else:
                hold = replace(hold, budget=name)
            self.holds.append(hold)
            self.save()  # the intent, before anything moves
            taken = h.take(self.uow, self.budgets, hold, user=self.user, device=self.device,
                           terms=_terms(p), day=self.day, now=self.now)
            if taken.reason is not None:
                self.uow.session.rollback()
                # Kept as released, not dropped: its key may have moved a coupon and back, so
                # it must never be used again for this order.
                self.replace_hold(hold, replace(hold, state=h.RELEASED))
                self.save()
                excluded[name] = taken.reason
                return False
            kept = replace(hold, state=h.HELD, amount=taken.granted)
            self.replace_hold(hold, kept)
            try:
                self.save()  # commits a joined budget's move with the record
            except _Lost:
                h.give_back(self.uow, self.budgets, kept, self.now)
                raise
            if taken.granted < amount:
                return False  # a partial budget: price again with what was granted
        return True


def place(uow: UnitOfWork, ruleset: Ruleset, cart: Cart, order_id: str, budgets: BudgetStore,
          now: datetime, *, lease: timedelta = DEFAULT_LEASE, explain: bool = False) -> Placed:
    """Price `cart` again and hold what the price spends (see the module's docstring); the
    final priced result says why every promotion left out was not applied."""
    if cart.user is None:
        raise InvalidInput("an order is placed for a user: the cart has none")
    opened, record = h.open_order(uow, order_id, cart.user, cart.device, now, lease)
    if opened == h.DONE:
        return _placed(record, replayed=True)
    if opened == h.BUSY:
        return Placed(order_id, h.PLACING, None, reason=ORDER_BUSY)
    program = ruleset.program
    work = _Placing(uow, budgets, program, cart, record, now)
    excluded: dict[str, str] = {}
    try:
        work.give_back_all()  # what an earlier call that stopped half-way left
        for _ in range(2 * len(program.promotions) + 3):
            result, offer = _price(uow, ruleset, cart, budgets, now, holds=work.holds, excluded=excluded,
                                   explain=explain)
            if work.settle(_wanted(program, result), result, offer, excluded):
                break
        else:
            raise PriceDidNotSettle(f"order {order_id}: the price did not settle")
        if not h.finish(uow, order_id, work.token, work.holds, result, now):
            raise _Lost(order_id)
    except _Lost:
        uow.session.rollback()
        after = h.load(uow, order_id)
        uow.session.rollback()
        status = h.PLACING if after is None else after.status
        return Placed(order_id, status, None, reason=ORDER_BUSY if status == h.PLACING else f"the order was {status}")
    except Exception:
        _let_go(uow, work, now)
        raise
    return Placed(order_id, h.PLACED, result, tuple(x for x in work.holds if x.live))


def _let_go(uow: UnitOfWork, work: _Placing, now: datetime) -> None:
    """After a failure (a store unreachable), end the lease so that a retry takes the order
    over at once and gives back what this call held; the holds are already written."""
    try:
        uow.session.rollback()
        h.save(uow, work.order_id, work.token, work.holds, lease_until=utc(now))
    except Exception:  # the first failure is the one to report
        uow.session.rollback()


def _placed(record: h.OrderRecord, *, replayed: bool) -> Placed:
    return Placed(record.order_id, record.status, record.result, tuple(record.live_holds()), replayed)


def placed(uow: UnitOfWork, order_id: str) -> Placed | None:
    """The order as placed (its result and holds), or None when it never was."""
    record = h.load(uow, order_id)
    uow.session.rollback()
    return None if record is None else _placed(record, replayed=False)


# -- paying and cancelling -------------------------------------------------------------------


@dataclass(frozen=True)
class Settled:
    """What confirm or cancel did: the order's status after, each move made, whether there was
    nothing left to do (a repeat), and why it failed."""

    order_id: str
    status: str | None
    moves: tuple[Move, ...] = ()
    replayed: bool = False
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def confirm(uow: UnitOfWork, order_id: str, budgets: BudgetStore, now: datetime) -> Settled:
    """The order is paid: redeem its coupons and confirm its budget reservations. A move
    refused (a reservation released meanwhile) fails the confirm: the order must be
    cancelled, its discount can no longer be honoured."""
    record = h.load(uow, order_id)
    uow.session.rollback()
    if record is None:
        return Settled(order_id, None, reason=NO_ORDER)
    if record.status == h.CONFIRMED:
        return Settled(order_id, h.CONFIRMED, replayed=True)
    if record.status != h.PLACED:
        return Settled(order_id, record.status, reason=f"the order is {record.status}")
    moves = tuple(m for hold in record.live_holds() for m in h.confirm_hold(uow, budgets, hold, now))
    failed = [m for m in moves if not m.ok]
    if failed:
        return Settled(order_id, record.status, moves, reason=f"{failed[0].target}: {failed[0].reason}")
    moved, after = h.settle(uow, order_id, h.CONFIRMED, (h.PLACED,), now)
    if not moved:
        status = None if after is None else after.status
        if status == h.CONFIRMED:
            return Settled(order_id, status, moves, replayed=True)
        return Settled(order_id, status, moves, reason=f"the order is {status}")
    return Settled(order_id, h.CONFIRMED, moves)


def cancel(uow: UnitOfWork, order_id: str, budgets: BudgetStore, now: datetime) -> Settled:
    """The order is cancelled or timed out, paid or not: release its budgets and return its
    coupons, exactly once however often it is called (a call placing it meanwhile stops)."""
    moved, record = h.settle(uow, order_id, h.CANCELLED, (h.PLACING, h.PLACED, h.CONFIRMED), now)
    if record is None:
        return Settled(order_id, None, reason=NO_ORDER)
    holds = list(record.holds)
    moves: list[Move] = []
    for index, hold in enumerate(holds):
        if hold.live:
            moves.extend(h.give_back(uow, budgets, hold, now))
            holds[index] = replace(hold, state=h.RELEASED)
            h.save(uow, order_id, record.token, holds)
    failed = [m for m in moves if not m.ok]
    reason = None if not failed else f"{failed[0].target}: {failed[0].reason}"
    return Settled(order_id, h.CANCELLED, tuple(moves), replayed=not moved and not moves, reason=reason)
