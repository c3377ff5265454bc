"""The licensed clearing institution (清分机构) through an adapter. The platform does not hold
merchants' money (the 二清 rule): the money sits with the institution, and the platform
only instructs it — credit a merchant's sub-account with a cycle's settlement, pay out a
withdrawal to the merchant's bank account. `SimulatedClearing` stands in for it in tests and
the demo: idempotent by instruction id, and told which shops to refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from arbiter.money import Money

SETTLE = "settle"  # allocate a cycle's net settlement to the merchant's sub-account
WITHDRAW = "withdraw"  # pay the merchant's sub-account out to its bank account


@dataclass(frozen=True)
class Instruction:
    id: str  # the idempotency id: the same id is the same instruction
    kind: str
    shop: str
    amount: Money


@dataclass(frozen=True)
class InstructionResult:
    accepted: bool
    reference: str | None = None  # the institution's reference, when accepted
    reason: str | None = None


class ClearingInstitution(Protocol):
    def instruct(self, instruction: Instruction) -> InstructionResult: ...


@dataclass
class SimulatedClearing:
    """Accepts every instruction (once per id) except withdrawals of `refuse` shops."""

    refuse: set[str] = field(default_factory=set)
    instructions: dict[str, tuple[Instruction, InstructionResult]] = field(default_factory=dict)

    def instruct(self, instruction: Instruction) -> InstructionResult:
        if instruction.id in self.instructions:
            return self.instructions[instruction.id][1]
        if instruction.kind == WITHDRAW and instruction.shop in self.refuse:
            result = InstructionResult(False, reason="the merchant's bank account was refused")
        else:
            result = InstructionResult(True, reference=f"CLR-{len(self.instructions) + 1:06d}")
        self.instructions[instruction.id] = (instruction, result)
        return result

    def paid_out(self, shop: str) -> Money | None:
        """What the institution paid out to `shop` by withdrawals."""
        total: Money | None = None
        for instruction, result in self.instructions.values():
            if instruction.kind == WITHDRAW and instruction.shop == shop and result.accepted:
                total = instruction.amount if total is None else total + instruction.amount
        return total
