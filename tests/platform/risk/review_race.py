"""One side of the review race: `python -m tests.platform.risk.review_race DB_URL SIDE` (SIDE is
approve or reject). It connects, prints `ready`, reads one JSON line from stdin (the case ids
and a wall-clock `start_at`, so that both sides start together), then approves each case in
order (or rejects each in reverse order, so that the two sides meet half-way) as operator `ops-SIDE`, each in its own transaction, and
prints the outcomes as one JSON line. Its resumer emits a `test.resumed` event per call, keyed
by side, so that a subject resumed by both sides would show twice."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime

from sqlalchemy import text

from arbiter.platform.db import UnitOfWork, make_engine
from arbiter.platform.events import service as events
from arbiter.platform.risk import review

AT = datetime(2026, 11, 11, 20, 5, tzinfo=UTC)


def main(url: str, side: str) -> None:
    engine = make_engine(url)
    with engine.connect() as connection:  # connect before the start
        connection.execute(text("select 1"))

    def resume(uow: UnitOfWork, subject_id: str, approved: bool, now: datetime) -> None:
        events.emit(uow, "test.resumed", subject_id, {"approved": approved, "side": side}, now,
                    key=f"test.resumed:{subject_id}:{side}")

    resumers = review.Resumers()
    resumers.register("payment", resume)
    move = review.approve if side == "approve" else review.reject
    print("ready", flush=True)
    command = json.loads(sys.stdin.readline())
    ids = command["ids"] if side == "approve" else command["ids"][::-1]
    time.sleep(max(0.0, command["start_at"] - time.time()))
    results = {}
    for case_id in ids:
        with UnitOfWork(engine) as uow:
            result = move(uow, case_id, f"ops-{side}", f"{side}d in the race", AT, resumers=resumers)
        results[case_id] = {"ok": result.ok, "status": result.status, "reason": result.reason}
    print(json.dumps(results), flush=True)
    engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
