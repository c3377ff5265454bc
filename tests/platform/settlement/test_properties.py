"""A stateful property test of settlement on SQLite and PostgreSQL: random sequences of
orders (lines with discounts funded by the merchant, the platform and the payment channel,
mixed in one promotion), completions, partial and whole refunds before and after settlement,
days passing, cycles (each previewed first) and withdrawals (some refused by the clearing
institution), in two shops, one netting a negative balance the next cycle and one taking
it from its deposit. A model computes every figure on its own, in cents. After every step:
the ledger balances, no floored account is below zero, and for each merchant

    paid out + available == its settled lines - commission - refunds (+ deposit taken)

to the cent; pending, user funds in transit, commission and subsidy agree with the model,
and each shop's statements chain (opening = the last closing; opening + entries = closing).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import Engine

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import accounts
from arbiter.platform.ledger import service as ledger
from arbiter.platform.settlement import service as settlement
from arbiter.platform.settlement.service import PaidLine, PaidOrder, RefundedLine
from tests.platform.settlement.support import DAY, NOW

RUNS = itertools.count()
RATES = (Decimal("0"), Decimal("0.05"), Decimal("0.08"), Decimal("0.1234"))
DEPOSIT = 30000  # cents, the from-deposit shop's
CYCLE_DAYS = (2, 1)  # of the two shops

# (quantity, unit price in cents, merchant / platform / channel percent of the line, rate index)
lines = st.lists(st.tuples(st.integers(1, 3), st.integers(100, 40000), st.integers(0, 30), st.integers(0, 30),
                           st.integers(0, 15), st.integers(0, len(RATES) - 1)), min_size=1, max_size=3)


def cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def money(value: int) -> Money:
    return Money(Decimal(value) / 100)


def upto(total: int, k: int, quantity: int) -> int:
    """The share of `total` on the first k of `quantity` units, rounded half up."""
    return cents(Decimal(total) * k / quantity)


@dataclass
class Line:
    shop: str
    line_id: str
    quantity: int
    paid: int
    platform: int
    channel: int
    rate: Decimal
    base: int = 0
    commission: int = 0
    status: str = "open"
    due: datetime | None = None
    units: int = 0  # refunded
    base_back: int = 0
    commission_back: int = 0
    platform_back: int = 0
    paid_back: int = 0
    channel_back: int = 0
    completed: bool = False

    def __post_init__(self) -> None:
        self.base = self.paid + self.platform + self.channel
        self.commission = cents(Decimal(self.base) * self.rate)

    def due_left(self) -> int:
        return (self.base - self.base_back) - (self.commission - self.commission_back)


@dataclass
class Shop:
    name: str
    policy: str
    cycle_days: int
    settled: int = 0  # lines settled: base - commission
    clawed: int = 0  # refunds of settled lines: base - commission given back
    deposit_taken: int = 0
    paid_out: int = 0
    deposit: int = 0
    closing: int = 0  # of the last statement
    statements: list[str] = field(default_factory=list)

    @property
    def available(self) -> int:
        return self.settled - self.clawed + self.deposit_taken - self.paid_out


def machine(engine: Engine) -> type[RuleBasedStateMachine]:
    class Settlement(RuleBasedStateMachine):
        @initialize()
        def open(self) -> None:
            event("example")
            run = next(RUNS)
            self.prefix = f"prop{run}"
            self.now = NOW
            self.shops = [Shop(f"{self.prefix}-net", settlement.NET_NEXT_CYCLE, CYCLE_DAYS[0]),
                          Shop(f"{self.prefix}-dep", settlement.FROM_DEPOSIT, CYCLE_DAYS[1], deposit=DEPOSIT)]
            self.orders: dict[str, list[Line]] = {}
            self.clearing = settlement.SimulatedClearing()
            self.ids = itertools.count()
            with UnitOfWork(engine) as uow:
                for s in self.shops:
                    settlement.configure_shop(uow, s.name, cycle_days=s.cycle_days, policy=s.policy, now=NOW)
                    if s.deposit:
                        assert ledger.post(uow, [ledger.Transfer(
                            f"deposit:{s.name}:paid", accounts.CLEARING,
                            accounts.merchant_account(s.name, accounts.DEPOSIT), money(s.deposit),
                            "merchant.deposit", s.name)], NOW).ok
                uow.commit()
                self.platform_before = {code: ledger.balance(uow, code) for code in (
                    accounts.USER_FUNDS_IN_TRANSIT, accounts.COMMISSION_REVENUE, accounts.SUBSIDY_EXPENSE)}

        @rule(which=st.integers(0, 1), chosen=lines, completed=st.booleans())
        def place(self, which: int, chosen: list[tuple[int, int, int, int, int, int]], completed: bool) -> None:
            shop = self.shops[which]
            order_id = f"{self.prefix}-O{next(self.ids)}"
            paid_lines, model = [], []
            with UnitOfWork(engine) as uow:
                for index, (quantity, unit, m_pct, p_pct, c_pct, rate) in enumerate(chosen):
                    total = quantity * unit
                    merchant, platform, channel = (total * pct // 100 for pct in (m_pct, p_pct, c_pct))
                    funding = {k: str(money(v).amount) for k, v in
                               (("merchant", merchant), ("platform", platform), ("channel", channel)) if v}
                    sku = f"{order_id}-sku{index}"
                    settlement.set_rate(uow, sku=sku, rate=RATES[rate], now=self.now)
                    allocations = ({"promotion": "mixed", "amount": "0", "funding": funding},) if funding else ()
                    paid = total - merchant - platform - channel
                    paid_lines.append(PaidLine(f"L{index}", sku, "tops", quantity, money(paid).amount, allocations))
                    model.append(Line(shop.name, f"L{index}", quantity, paid, platform, channel, RATES[rate]))
                assert settlement.record_paid(uow, PaidOrder(order_id, shop.name, "CNY", tuple(paid_lines)), self.now)
                uow.commit()
            self.orders[order_id] = model
            if completed:
                self._complete(order_id)

        def _waiting(self) -> list[str]:
            return sorted(o for o, ls in self.orders.items() if any(x.status == "open" for x in ls))

        def _refundable(self, status: str | None = None) -> list[tuple[str, str]]:
            return sorted((o, x.line_id) for o, ls in self.orders.items() for x in ls
                          if x.units < x.quantity and status in (None, x.status))

        @precondition(lambda self: bool(self._waiting()))
        @rule(data=st.data())
        def complete(self, data: st.DataObject) -> None:
            waiting = self._waiting()
            self._complete(data.draw(st.sampled_from(waiting)))

        def _complete(self, order_id: str) -> None:
            with UnitOfWork(engine) as uow:
                settlement.record_completed(uow, order_id, self.now)
                uow.commit()
            for x in self.orders[order_id]:
                if x.status == "open":
                    shop = next(s for s in self.shops if s.name == x.shop)
                    x.status, x.due, x.completed = "pending", self.now + shop.cycle_days * DAY, True

        @precondition(lambda self: bool(self._refundable()))
        @rule(data=st.data())
        def refund(self, data: st.DataObject) -> None:
            self._refund(data, self._refundable())

        @precondition(lambda self: bool(self._refundable("settled")))
        @rule(data=st.data())
        def refund_after_settlement(self, data: st.DataObject) -> None:
            self._refund(data, self._refundable("settled"))

        def _refund(self, data: st.DataObject, candidates: list[tuple[str, str]]) -> None:
            order_id, line_id = data.draw(st.sampled_from(candidates))
            x = next(y for y in self.orders[order_id] if y.line_id == line_id)
            units = data.draw(st.integers(1, x.quantity - x.units))
            k0, k1 = x.units, x.units + units
            paid, platform, channel = (upto(v, k1, x.quantity) - upto(v, k0, x.quantity)
                                       for v in (x.paid, x.platform, x.channel))
            promotions = {"mixed": {"amount": "0", "funding": {"platform": str(money(platform).amount),
                                                               "channel": str(money(channel).amount),
                                                               "merchant": "0.00"}}}
            with UnitOfWork(engine) as uow:
                assert settlement.record_refund(uow, f"{self.prefix}-R{next(self.ids)}", order_id,
                                                [RefundedLine(line_id, units, money(paid).amount, promotions)],
                                                self.now) == 1
                uow.commit()
            base = paid + platform + channel
            whole = k1 == x.quantity
            back = x.commission - x.commission_back if whole else (
                cents(Decimal(x.commission) * (x.base_back + base) / x.base) - x.commission_back)
            if x.status == "settled":
                event("a refund after settlement")
                next(s for s in self.shops if s.name == x.shop).clawed += base - back
            x.units, x.base_back, x.commission_back = k1, x.base_back + base, x.commission_back + back
            x.paid_back, x.platform_back, x.channel_back = (
                x.paid_back + paid, x.platform_back + platform, x.channel_back + channel)
            if whole and x.status == "open":
                x.status, x.due = "pending", self.now

        @rule(days=st.integers(1, 3), withdraw_all=st.booleans())
        def settle(self, days: int, withdraw_all: bool) -> None:
            """Days pass (one cycle a day: each settle on a day of its own) and both shops
            settle; with `withdraw_all` each then withdraws all it has."""
            self.now += days * DAY
            for shop in self.shops:
                self._settle(shop)
                if withdraw_all and shop.available > 0:
                    self._withdraw(shop, shop.available, False)

        def _settle(self, shop: Shop) -> None:
            due = [x for ls in self.orders.values() for x in ls
                   if x.shop == shop.name and x.status == "pending" and x.due is not None and x.due <= self.now]
            with UnitOfWork(engine) as uow:
                coming = settlement.preview(uow, shop.name, self.now)
                made = settlement.settle(uow, shop.name, self.now, self.clearing)
            assert coming == replace(made, draft=coming.draft), (coming, made)
            goods = sum(x.due_left() for x in due)
            assert made.goods - made.commission == money(goods)
            for x in due:
                event("a line settled")
                x.status = "settled"
            shop.settled += goods
            if shop.policy == settlement.FROM_DEPOSIT and shop.available < 0:
                event("deposit taken")
                taken = min(-shop.available, shop.deposit)
                shop.deposit -= taken
                shop.deposit_taken += taken
            assert made.closing == money(shop.available)
            if not made.draft:
                assert made.opening == money(shop.closing)
                shop.closing = shop.available
                shop.statements.append(made.id)

        @precondition(lambda self: any(s.available > 0 for s in self.shops))
        @rule(which=st.integers(0, 1), share=st.one_of(st.just(100), st.integers(1, 120)), refuse=st.booleans())
        def withdraw(self, which: int, share: int, refuse: bool) -> None:
            shop = self.shops[which] if self.shops[which].available > 0 else self.shops[1 - which]
            amount = shop.available * share // 100
            if amount > 0:
                self._withdraw(shop, amount, refuse)

        def _withdraw(self, shop: Shop, amount: int, refuse: bool) -> None:
            (self.clearing.refuse.add if refuse else self.clearing.refuse.discard)(shop.name)
            with UnitOfWork(engine) as uow:
                done = settlement.withdraw(uow, shop.name, money(amount), key=f"{self.prefix}-w{next(self.ids)}",
                                           clearing=self.clearing, now=self.now)
            if amount > shop.available:
                assert done.status is None
            else:
                assert done.status == ("refused" if refuse else "paid")
            if done.ok:
                event("withdrawn")
                shop.paid_out += amount

        @invariant()
        def books_agree(self) -> None:
            event("step")
            if not hasattr(self, "shops"):
                return
            lines_ = [x for ls in self.orders.values() for x in ls]
            with UnitOfWork(engine) as uow:
                assert ledger.trial_balance(uow).balanced
                for s in self.shops:
                    held = settlement.balances(uow, s.name)
                    for floored in (held.pending, held.deposit, held.withdrawn):
                        assert floored.amount >= 0
                    assert settlement.paid_out(uow, s.name) + held.available == money(
                        s.settled - s.clawed + s.deposit_taken)
                    assert held.available == money(s.available)
                    assert held.deposit == money(s.deposit)
                    assert held.pending == money(sum(x.due_left() for x in lines_
                                                     if x.shop == s.name and x.status == "pending"))
                    closing = Money.zero()
                    for made in settlement.statements(uow, s.name):
                        assert made.opening == closing
                        assert made.opening + Money(sum((e.net for e in made.entries), Decimal(0))) == made.closing
                        closing = made.closing
                in_transit = sum(x.paid - x.paid_back + x.channel - x.channel_back for x in lines_ if not x.completed)
                commission = sum(x.commission - x.commission_back for x in lines_ if x.completed)
                subsidy = sum(x.platform - x.platform_back for x in lines_ if x.completed)
                before = self.platform_before
                assert ledger.balance(uow, accounts.USER_FUNDS_IN_TRANSIT) - before[
                    accounts.USER_FUNDS_IN_TRANSIT] == money(in_transit)
                assert ledger.balance(uow, accounts.COMMISSION_REVENUE) - before[
                    accounts.COMMISSION_REVENUE] == money(commission)
                assert ledger.balance(uow, accounts.SUBSIDY_EXPENSE) - before[
                    accounts.SUBSIDY_EXPENSE] == money(subsidy)

    return Settlement


def test_random_settlement_keeps_every_merchant_to_the_cent(db: Engine) -> None:
    examples = 30 if db.dialect.name == "sqlite" else 12
    run_state_machine_as_test(machine(db), settings=settings(
        max_examples=examples, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)))
