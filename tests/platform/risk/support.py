"""Shared pieces of the risk tests: a small rule set over every kind of velocity feature."""

from __future__ import annotations

from arbiter.dsl.checker import check_sources
from arbiter.dsl.compiler import Ruleset, compile_program

RULES = """
tag user.id: string
tag passthrough.device_id: string { default "" }
tag payment.card: string { default "" }
tag payment.amount: money { default 0 }
tag payment.points: int { default 0 }
effect pass()
effect verify(method: enum("sms", "face"))
effect reject(reason: string)
scene login { on_failure closed fallback reject(reason: "risk check unavailable") }
strategy login_risk {
    scene login
    hit first
    rule blocked { priority 100 when user.id in list("blocklist") then reject(reason: "blocked") }
    rule too_many_failures { priority 90 when count(login_failed by user.id within 10m) >= 3 then reject(reason: "too many failures") }
    rule shared_device { priority 80 when distinct(user.id by passthrough.device_id within 1d) >= 3 then verify(method: "sms") }
    rule big_spender { priority 70 when sum(payment.amount by payment.card within 1d) >= 5000 then verify(method: "face") }
    rule many_payments { priority 60 when count(payment by payment.card within 1d) >= 100 then verify(method: "sms") }
    rule points { priority 50 when sum(payment.points by payment.card within 1h) >= 1000 then verify(method: "sms") }
    rule ok { then pass() }
}
"""


def ruleset(source: str = RULES) -> Ruleset:
    result = check_sources({"risk.rules": source})
    assert result.ok, [d.message for d in result.diagnostics]
    return compile_program(result)
