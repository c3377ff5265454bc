"""Shared helpers for the DSL tests: check one rule file the way the CLI does, render its
diagnostics, and a small corpus of valid rule files that the bad-input tests mutate."""

from __future__ import annotations

import textwrap

from arbiter.dsl.checker import CheckResult, check_sources
from arbiter.dsl.diagnostics import render_all

FILE = "x.rules"


def text(block: str) -> str:
    """A triple-quoted block without its indentation and its leading newline."""
    return textwrap.dedent(block).lstrip("\n")


def check(source: str, file: str = FILE) -> CheckResult:
    return check_sources({file: source})


def rendered(result: CheckResult) -> str:
    """The text the CLI prints for the diagnostics of a check."""
    return render_all(result.diagnostics, result.program.sources)


def codes(result: CheckResult) -> list[str]:
    return [d.code for d in result.diagnostics]


# Valid rule files covering most of the language: tags of every kind, effects, named
# conditions (one with a Chinese name), scenes, first / score / all strategies, bands,
# an experiment, a promotion and a test block.
POPUP = text(
    '''
    # tags are declared in rule files
    tag user.age: int { display "年龄" default 0 }
    tag user.region: enum("east", "west", "north")
    tag user.tags: set { default [] }
    tag user.registered_days: int
    tag order.amount: money
    tag order.lines: list(sku: string, category: string, quantity: int, price: money)
    tag goods.category: string
    effect show(content: string, slot: string)
    condition new_user = "new_user" in user.tags or user.registered_days <= 7
    condition big = order.amount >= 300 and goods.category in ["phone", "laptop"]
    scene home_popup { display "首页弹窗" }
    strategy s1 {
      scene home_popup
      hit first
      rule r1 { priority 10 when any(l in order.lines where l.category == "phone" and l.quantity >= 2) then show(content: "x", slot: "y") }
      rule r2 { when new_user then show(content: "new", slot: "b") }
    }
    test "new user gets popup" {
      scene home_popup
      given { user: { tags: ["new_user"], registered_days: 30 }, order: { amount: 10, lines: [] } }
      expect show(content: "new", slot: "b")
    }
    '''
)

RISK = text(
    '''
    tag payment.amount: money { scope [pay_verify] }
    tag user.id: string
    tag user.level: int { default 0 }
    tag user.last_login: datetime
    effect verify(method: enum("sms", "face", "none"))
    effect pass()
    scene pay_verify { display "支付核验" strategy risk on_failure open fallback verify(method: "sms") }
    condition 大额 = payment.amount > ¥5000
    strategy risk {
      scene pay_verify
      hit score
      rule big { when 大额 score 40 }
      rule low_level { when user.level < 2 and not (user.level between 5 and 9) score 20 }
      rule stale { when user.last_login < 2026-01-01 score 10 }
      band ok { from 0 then pass() }
      band sms { from 30 then verify(method: "sms") }
      band face { from 60 then verify(method: "face") }
    }
    strategy risk_b { scene pay_verify hit all rule any_ { when count(x in [1, 2, 3]) >= 2 then verify(method: "none") } }
    experiment exp1 {
      scene pay_verify
      unit user.id
      traffic 50%
      variant a { strategy risk weight 1 }
      variant b { strategy risk_b weight 1 }
    }
    '''
)

PROMOTION = text(
    '''
    tag order.total: money
    tag goods.brand: string
    tag user.vip: bool { default false }
    promotion p618 {
      display "618满减"
      type threshold_cut
      stage platform
      when user.vip or order.total >= 100
      goods goods.brand != "x"
      threshold 300
      amount 30.00 CNY
      starts 2026-06-01T00:00:00+08:00
      ends 2026-06-18T23:59:59+08:00
    }
    effect coupon(id: string, value: money)
    scene cart { }
    strategy c {
      scene cart
      hit all
      rule r { when sum(x * 2 for x in [1, 2]) > 3 and max(y for y in [1.5, 2]) > 1 then coupon(id: "c" + "1", value: 5) }
    }
    '''
)

VALID_FILES = (POPUP, RISK, PROMOTION)
