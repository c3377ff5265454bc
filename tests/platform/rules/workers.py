"""Child processes of the ruleset-version tests, run as `python -m tests.platform.rules.workers`.

`publish`: publish `--count` distinct versions as fast as possible from `--start-at` (an
epoch time, so that several workers start together); print `{"published": [numbers]}`.

`serve`: run a Reloader and an Engine on the database (and Redis when `--redis` is given);
each time the served version changes, decide `home_popup` for a new user and print one JSON
line `{"event": "served", "number", "hash", "decided_version", "content"}`; print
`{"event": "ready"}` once watching; on a `stop` line (or end of input) print
`{"event": "stopped", "errors": [...]}` and exit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from arbiter.clock import SystemClock
from arbiter.platform.db import UnitOfWork, make_engine
from arbiter.platform.rules import service
from arbiter.platform.rules.reload import Reloader
from tests.platform.rules.samples import NEW_USER, sources


def emit(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def publish(args: argparse.Namespace) -> None:
    database = make_engine(args.url)
    time.sleep(max(0.0, args.start_at - time.time()))
    numbers = []
    for i in range(args.count):
        with UnitOfWork(database) as uow:
            result = service.publish(uow, sources(f"{args.name}-{i}"), by=args.name, why="race",
                                     clock=SystemClock())
        numbers.append(result.version.number)
    database.dispose()
    emit(published=numbers)


def serve(args: argparse.Namespace) -> None:
    database = make_engine(args.url)
    reloader: Reloader

    def served(number: int, hash: str) -> None:
        decision = reloader.engine.decide("home_popup", NEW_USER)
        emit(event="served", number=number, hash=hash, decided_version=decision.ruleset_version,
             content=decision.effects[0].fields[0][1])

    reloader = Reloader(database, SystemClock(), redis=args.redis, poll_interval=0.2,
                        safety_interval=args.safety, on_swap=served)
    reloader.start()
    emit(event="ready", mode=reloader.mode)
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    reloader.stop()
    emit(event="stopped", errors=[f"{e.number}: {e.message}" for e in reloader.errors])
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("publish")
    p.add_argument("--url", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--start-at", type=float, default=0.0)
    s = commands.add_parser("serve")
    s.add_argument("--url", required=True)
    s.add_argument("--redis", default=None)
    s.add_argument("--safety", type=float, default=30.0)
    args = parser.parse_args()
    publish(args) if args.command == "publish" else serve(args)


if __name__ == "__main__":
    main()
