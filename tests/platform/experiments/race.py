"""One side of the put() race: `python -m tests.platform.experiments.race KIND URL EXPERIMENT
VARIANT COUNT` connects, prints `ready`, waits for a line on stdin (so that both sides start
together), puts COUNT units, then prints what it reads back for each as JSON."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from arbiter.clock import FixedClock
from arbiter.engine.experiments import AssignmentStore


def main(kind: str, url: str, experiment: str, variant: str, count: int) -> None:
    if kind == "redis":
        import redis

        from arbiter.platform.experiments.stores import RedisAssignments

        store: AssignmentStore = RedisAssignments(redis.Redis.from_url(url))
    else:
        from arbiter.platform.db import make_engine
        from arbiter.platform.experiments.stores import SqlAssignments

        store = SqlAssignments(make_engine(url), FixedClock(datetime(2026, 11, 11, tzinfo=UTC)))
    units = [f"u{i}" for i in range(count)]
    store.get(experiment, "warm-up")  # connect before the start
    print("ready", flush=True)
    sys.stdin.readline()
    for unit in units:
        store.put(experiment, unit, variant)
    print(json.dumps({unit: store.get(experiment, unit) for unit in units}))


if __name__ == "__main__":
    kind, url, experiment, variant, count = sys.argv[1:6]
    main(kind, url, experiment, variant, int(count))
