"""Backtest throughput: `arbiter backtest` replaying a generated stream of payment events,
read from a JSON-lines file, through a candidate rule set and a live one side by side, the
velocity features rebuilt in time order.

The stream and the rule files are written to a temporary folder first (not timed); then the
command runs as a user runs it, in its own process, and the time is that process's, from
start to exit: reading and parsing the file, compiling both rule sets, the replay and the
report. Prints the figures, then one JSON line. Goal: 1,000,000 events in under 20 s. Set
BACKTEST_EVENTS to replay fewer (the figure per second is what compares across runs).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CATALOG = """
tag user.id: string
tag passthrough.device_id: string { default "" }
tag payment.card: string
tag payment.amount: money
effect pass()
effect verify(method: enum("sms", "face"))
effect review(reason: string)
effect reject(reason: string)
scene payment { on_failure closed fallback reject(reason: "unavailable") }
"""
LIVE = CATALOG + """
strategy live { scene payment hit first
    rule big { priority 10 when payment.amount >= 20000 then reject(reason: "big") }
    rule large { when payment.amount >= 5000 then verify(method: "face") }
    rule ok { priority -1 then pass() } }
"""
CANDIDATE = CATALOG + """
strategy candidate { scene payment hit score
    rule card_day { score 50 when sum(payment.amount by payment.card within 1d) >= 20000 }
    rule burst { score 30 when count(payment by user.id within 1h) >= 5 }
    rule shared_device { score 30 when distinct(user.id by passthrough.device_id within 1d) >= 3 }
    rule large { score 20 when payment.amount >= 5000 }
    band low { from 0 then pass() }
    band middle { from 40 then review(reason: "velocity") }
    band high { from 80 then reject(reason: "velocity") } }
"""


def lines(count: int, seed: int = 20261125) -> Iterator[str]:
    """The events as JSON lines: 50,000 users, 30,000 devices, 40,000 cards, amounts from
    1 to 30,000 yuan, one payment every 200 ms on average."""
    rng = random.Random(seed)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(count):
        at += timedelta(milliseconds=rng.randint(1, 400))
        user, device, card = rng.randint(1, 50_000), rng.randint(1, 30_000), rng.randint(1, 40_000)
        cents = rng.randint(100, 3_000_000)
        yield (
            f'{{"id": "e{i}", "kind": "payment", "at": "{at.isoformat()}", "context": {{"user": {{"id": "u{user}"}}, '
            f'"passthrough": {{"device_id": "d{device}"}}, "payment": {{"card": "c{card}", "amount": "{cents // 100}.{cents % 100:02d}"}}}}}}\n'
        )


def main() -> None:
    count = int(os.environ.get("BACKTEST_EVENTS", "1000000"))
    with tempfile.TemporaryDirectory(prefix="arbiter-backtest-") as folder:
        base = Path(folder)
        (base / "live.rules").write_text(LIVE, encoding="utf-8")
        (base / "candidate.rules").write_text(CANDIDATE, encoding="utf-8")
        events = base / "events.jsonl"
        with events.open("w", encoding="utf-8") as out:
            out.writelines(lines(count))
        command = [
            sys.executable, "-c", "from arbiter.cli import main; main()", "backtest", str(base / "candidate.rules"),
            "--live", str(base / "live.rules"), "--scene", "payment", "--events", str(events), "--format", "json",
        ]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=folder, check=False)
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"arbiter backtest failed ({done.returncode}): {done.stderr.strip()}")
    report = json.loads(done.stdout)
    print(f"arbiter backtest: {report['events']:,} payment events from a JSON-lines file, "
          "two rule sets side by side, features rebuilt in order")
    print(f"{'action':10} {'live':>10} {'candidate':>10}")
    for action in ("reject", "review", "verify", "pass"):
        print(f"{action:10} {report['live']['actions'][action]:>10,} {report['candidate']['actions'][action]:>10,}")
    print(f"changed: {report['changed']:,}; {seconds:.1f} s, {report['events'] / seconds:,.0f} events/s "
          "(the whole command: start, reading, compiling, replay, report); goal: 1,000,000 events in under 20 s")
    print(json.dumps({"bench": "backtest", "events": report["events"], "seconds": round(seconds, 2),
                      "events_per_s": round(report["events"] / seconds)}))


if __name__ == "__main__":
    main()
