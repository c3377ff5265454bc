"""Presale (预售) phases: when a presale applies, to which lines, and what is due when.

A presale declares a deposit window (`starts` / `ends`) and optionally a balance window
(`balance_starts` / `balance_ends`). The trial prices a presale line the same way in both
phases — the deposit counts at its inflated value (定金膨胀), so the order's payable is the
list price less (deposit_value - deposit) — and the phase only says what is paid now:

- deposit phase (now in the deposit window): the deposit is due now, the balance (尾款) later;
- balance phase (now in the balance window, for the lines whose `deposit_paid` tag is true):
  the deposit was paid before, the balance is due now; lines without a paid deposit are not
  in the presale (they pay the shelf price);
- otherwise the presale does not apply: "outside window".

A balance window takes precedence over an overlapping deposit window for a cart that carries
a paid deposit. The later-stage promotions (shop, platform, payment) live at the time of the
trial, so paying the balance on Singles' Day gets that day's cross-shop deals.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from arbiter.dsl.model import Promotion
from arbiter.engine.pricing.model import Cart, PresaleSplit, PricedLine
from arbiter.money import CENT

DEPOSIT = "deposit"
BALANCE = "balance"


def _within(window: tuple[datetime | None, datetime | None], now: datetime) -> bool:
    start, end = window
    return (start is None or now >= start) and (end is None or now < end)


def _has_balance_window(p: Promotion) -> bool:
    return p.balance_window != (None, None)


def _text(moment: datetime | None) -> str:
    return str(moment) if moment is not None else "…"


def phase(p: Promotion, cart: Cart, now: datetime) -> tuple[str | None, str]:
    """The phase of presale `p` for `cart` at `now`, or None with why it does not apply."""
    start, end = p.window
    if _has_balance_window(p) and _within(p.balance_window, now):
        if any(line.deposit_paid for line in cart.lines):
            return BALANCE, ""
        if not _within(p.window, now):
            low, high = p.balance_window
            return None, (f"the deposit window ended {_text(end)}; from {_text(low)} to {_text(high)} "
                          "it takes only the balance of a paid deposit")
    if _within(p.window, now):
        return DEPOSIT, ""
    detail = f"runs {_text(start)} to {_text(end)}"
    if _has_balance_window(p):
        low, high = p.balance_window
        detail += f"; balances {_text(low)} to {_text(high)}"
    return None, detail


def covered(p: Promotion, cart: Cart, now: datetime, lines: tuple[int, ...]) -> tuple[int, ...]:
    """Of the lines `p`'s goods cover, those in its presale now: in the balance phase only the
    lines whose deposit was paid."""
    if phase(p, cart, now)[0] != BALANCE:
        return lines
    return tuple(i for i in lines if cart.lines[i].deposit_paid)


def split(p: Promotion, phase_now: str, line: PricedLine) -> PresaleSplit:
    """The deposit and the balance of one presale line, in the given phase."""
    deposit = ((p.deposit or Decimal(0)) * line.quantity).quantize(CENT)
    return PresaleSplit(p.name, line.id, deposit, (line.payable - deposit).quantize(CENT), phase_now)


def splits(p: Promotion, cart: Cart, now: datetime, shares: Sequence[int], lines: Sequence[PricedLine]) -> list[PresaleSplit]:
    phase_now = phase(p, cart, now)[0] or DEPOSIT
    return [split(p, phase_now, lines[i]) for i in sorted(shares)]
