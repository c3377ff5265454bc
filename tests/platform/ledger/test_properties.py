"""A stateful property test on SQLite and PostgreSQL: random batches of transfers between
random accounts (some floored, of both normal sides), replays, reversals and postings left
uncommitted. After every step the trial balance balances, no floored account is below zero,
and every account's balance equals the sum of its entries and the model's figure."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import Engine

from arbiter.money import Money
from arbiter.platform.db import UnitOfWork
from arbiter.platform.ledger import service as ledger

from .support import AT

# (name, normal side, floored)
CHART = [("cash", "debit", False), ("wallet", "credit", True), ("loan", "debit", True),
         ("revenue", "credit", False), ("deposit", "credit", True), ("expense", "debit", False)]
RUNS = itertools.count()

legs = st.lists(st.tuples(st.integers(0, len(CHART) - 1), st.integers(0, len(CHART) - 1),
                          st.integers(1, 5000)).filter(lambda leg: leg[0] != leg[1]), min_size=1, max_size=3)


def machine(engine: Engine) -> type[RuleBasedStateMachine]:
    class Ledger(RuleBasedStateMachine):
        """The model: each account's expected balance in cents; the batches posted."""

        @initialize()
        def open(self) -> None:
            run = next(RUNS)
            self.codes = [f"prop{run}:{name}" for name, _, _ in CHART]
            self.normal = {code: normal for code, (_, normal, _) in zip(self.codes, CHART, strict=True)}
            self.floored = {code for code, (_, _, floor) in zip(self.codes, CHART, strict=True) if floor}
            self.cents = dict.fromkeys(self.codes, 0)
            self.posted: list[list[ledger.Transfer]] = []  # batches posted by `post`
            self.reversals: dict[str, str] = {}  # reversal id -> the transfer it reversed
            self.reversed: set[str] = set()
            self.ids = itertools.count()
            with UnitOfWork(engine) as uow:
                for code in self.codes:
                    ledger.open_account(uow, code, normal=self.normal[code], floor=code in self.floored, now=AT)
                uow.commit()

        def _effect(self, transfers: list[ledger.Transfer]) -> dict[str, int]:
            after = dict(self.cents)
            for t in transfers:
                cents = int(t.amount.amount * 100)
                after[t.debit] += cents if self.normal[t.debit] == "debit" else -cents
                after[t.credit] += cents if self.normal[t.credit] == "credit" else -cents
            return after

        def _post(self, post: Callable[[UnitOfWork], ledger.Posting], transfers: list[ledger.Transfer], *,
                  commit: bool = True) -> ledger.Posting:
            after = self._effect(transfers)
            refused = sorted(code for code in self.floored if after[code] < 0)
            with UnitOfWork(engine) as uow:
                result = post(uow)
                if commit:
                    uow.commit()
            assert result.ok == (not refused), (result, refused)
            if refused:
                assert result.account == refused[0]
                assert result.reason is not None and result.reason.startswith(f"{refused[0]} would go to -")
            elif commit:
                self.cents = after
            return result

        @rule(chosen=legs, commit=st.booleans())
        def post_batch(self, chosen: list[tuple[int, int, int]], commit: bool) -> None:
            transfers = [ledger.Transfer(f"{self.codes[0]}-{next(self.ids)}", self.codes[d], self.codes[c],
                                         Money(Decimal(cents) / 100), "test.random") for d, c, cents in chosen]
            result = self._post(lambda uow: ledger.post(uow, transfers, AT), transfers, commit=commit)
            if result.ok and commit:
                self.posted.append(transfers)

        @rule(data=st.data())
        def replay(self, data: st.DataObject) -> None:
            if not self.posted:
                return
            batch = data.draw(st.sampled_from(self.posted))
            with UnitOfWork(engine) as uow:
                if batch[0].id in self.reversals:
                    assert ledger.reverse(uow, self.reversals[batch[0].id], batch[0].id, AT).replayed
                else:
                    assert ledger.post(uow, batch, AT).replayed
                uow.commit()

        @rule(data=st.data())
        def reverse(self, data: st.DataObject) -> None:
            candidates = [t for batch in self.posted for t in batch if t.id not in self.reversed]
            if not candidates:
                return
            original = data.draw(st.sampled_from(candidates))
            opposite = ledger.Transfer(f"{original.id}-rev", original.credit, original.debit, original.amount,
                                       "test.random.reversal")
            result = self._post(lambda uow: ledger.reverse(uow, original.id, opposite.id, AT), [opposite])
            if result.ok:
                self.reversed.add(original.id)
                self.reversals[opposite.id] = original.id
                self.posted.append([opposite])

        @invariant()
        def books_balance(self) -> None:
            if not hasattr(self, "codes"):
                return
            with UnitOfWork(engine) as uow:
                trial = ledger.trial_balance(uow)
                assert trial.balanced and trial.debits == trial.credits, trial
                for code in self.codes:
                    held = ledger.balance(uow, code)
                    assert held == Money(Decimal(self.cents[code]) / 100)
                    assert sum((e.amount for e in ledger.entries(uow, code)), Money.zero()) == held
                    if code in self.floored:
                        assert held.amount >= 0

    return Ledger


def test_random_postings_keep_the_books(db: Engine) -> None:
    run_state_machine_as_test(machine(db), settings=settings(
        max_examples=25, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
