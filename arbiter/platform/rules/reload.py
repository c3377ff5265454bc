"""Hot reload: keep a running decision engine on the published ruleset version.

A `Reloader` loads the published version once at start, then watches for a new one from a
daemon thread: subscribed to the Redis channel that `publish` announces on (with a slow poll
of the database as a safety net for lost messages or a Redis outage), or, without Redis,
polling the database for the published number every `poll_interval` seconds.

A new version is loaded from the database, checked and compiled (a cache by content hash
spares recompiling a version seen before, as after a rollback), and only then swapped into
the engine in one assignment: a decision in flight finishes on the ruleset it began with. A
version that fails to load is never served: the engine keeps the previous one and the
failure is recorded in `errors`. Nothing here is global; the database engine, the clock and
the Redis client come in from the caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine as Database

from arbiter.clock import Clock
from arbiter.dsl.compiler import Ruleset
from arbiter.engine.engine import Engine
from arbiter.errors import ArbiterError
from arbiter.platform.db import UnitOfWork
from arbiter.platform.rules import service
from arbiter.platform.rules.channel import PUBLISHED_CHANNEL

log = logging.getLogger(__name__)

EngineFactory = Callable[[Ruleset, int], Engine]
SwapListener = Callable[[int, str], None]


class NothingPublished(ArbiterError):
    code = "rules.none_published"


@dataclass(frozen=True, slots=True)
class LoadFailure:
    number: int
    hash: str
    message: str
    at: datetime


class Reloader:
    """Serves the published version through `engine`; `start()` watches, `stop()` joins."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        engine: Engine | None = None,
        engine_factory: EngineFactory | None = None,
        redis: Any | None = None,
        poll_interval: float = 0.2,
        safety_interval: float = 5.0,
        on_swap: SwapListener | None = None,
        cache_size: int = 8,
        experiment_statuses: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        """`redis` is a client or a URL (a client is then made at `start()` and closed at
        `stop()`). `engine` is swapped in place; otherwise `engine_factory` (or a plain
        `Engine`) builds one from the first version loaded. `on_swap(number, hash)` is
        called after every swap, from the thread that made it."""
        self.database = database
        self.clock = clock
        self._engine = engine
        self._factory = engine_factory or (lambda ruleset, number: Engine(ruleset, clock, version=number))
        self._redis_url = redis if isinstance(redis, str) else None
        self._redis_client = None if isinstance(redis, str) else redis
        self.poll_interval = poll_interval
        self.safety_interval = safety_interval
        self.on_swap = on_swap
        self.errors: list[LoadFailure] = []
        self._cache: OrderedDict[str, Ruleset] = OrderedDict()
        self._cache_size = cache_size
        self._failed: set[tuple[int, str]] = set()
        self._version: int | None = engine.version if engine is not None else None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.mode = "redis" if redis is not None else "poll"
        # Experiments started and stopped at run time (stored by the experiments module):
        # read at every check and applied to the engine when they change.
        self._statuses = experiment_statuses
        self._applied_statuses: dict[str, str] | None = None

    # ------------------------------------------------------------------------- serving

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise NothingPublished("no ruleset version is published yet")
        return self._engine

    @property
    def version(self) -> int | None:
        """The number of the version being served."""
        return self._version

    def load_current(self) -> bool:
        """Serve the published version now if it is not served already; True when swapped."""
        with self._lock:
            with UnitOfWork(self.database) as uow:
                number = service.current_number(uow)
                if number is None or number == self._version:
                    return False
                version = service.get(uow, number)
            if (version.number, version.hash) in self._failed:
                return False
            try:
                ruleset = self._compiled(version)
            except Exception as exc:  # whatever breaks, the version is not served
                self._failed.add((version.number, version.hash))
                failure = LoadFailure(version.number, version.hash, str(exc) or type(exc).__name__,
                                      self.clock.now())
                self.errors.append(failure)
                log.error("ruleset version %s not served: %s", version.number, failure.message)
                return False
            if self._engine is None:
                self._engine = self._factory(ruleset, version.number)
            else:
                self._engine.swap(ruleset, version.number)
            self._version = version.number
        log.info("serving ruleset version %s (%s)", version.number, version.hash[:12])
        if self.on_swap is not None:
            self.on_swap(version.number, version.hash)
        return True

    def _compiled(self, version: service.Version) -> Ruleset:
        cached = self._cache.get(version.hash)
        if cached is not None:
            self._cache.move_to_end(version.hash)
            return cached
        ruleset, _ = service.compile_sources(version.sources)
        if ruleset.hash != version.hash:
            raise ArbiterError(
                f"version {version.number}: its sources hash to {ruleset.hash[:12]}, "
                f"not the recorded {version.hash[:12]}"
            )
        self._cache[version.hash] = ruleset
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return ruleset

    # ------------------------------------------------------------------------- watching

    def start(self) -> Reloader:
        self._check()
        self._stop.clear()
        target = self._watch_database if self.mode == "poll" else self._watch_redis
        self._thread = threading.Thread(target=target, name="arbiter-rules-reloader", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._redis_url is not None and self._redis_client is not None:
            self._redis_client.close()  # made here from the URL, so closed here
            self._redis_client = None

    def __enter__(self) -> Reloader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _check(self) -> None:
        """One look at the database; a failure to reach it is logged, never raised."""
        try:
            self.load_current()
            self.apply_experiment_statuses()
        except Exception as exc:  # the database may be briefly away: keep serving, try again
            log.warning("could not look for a new ruleset version: %s", exc)

    def apply_experiment_statuses(self) -> bool:
        """Give the engine the experiments' current run-time statuses; True when they changed."""
        if self._statuses is None or self._engine is None:
            return False
        statuses = dict(self._statuses())
        if statuses == self._applied_statuses:
            return False
        self._engine.set_experiment_status(statuses)
        self._applied_statuses = statuses
        return True

    def _watch_database(self) -> None:
        while not self._stop.wait(self.poll_interval):
            self._check()

    def _client(self) -> Any:
        if self._redis_client is None and self._redis_url is not None:
            import redis

            self._redis_client = redis.Redis.from_url(
                self._redis_url, socket_connect_timeout=3, health_check_interval=30
            )
        return self._redis_client

    def _watch_redis(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen(self._client())
            except Exception as exc:  # Redis away: poll the database until it answers again
                log.warning("ruleset notices from Redis interrupted (%s); polling meanwhile", exc)
                resume = time.monotonic() + self.safety_interval
                while not self._stop.wait(self.poll_interval) and time.monotonic() < resume:
                    self._check()

    def _listen(self, client: Any) -> None:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(PUBLISHED_CHANNEL)
            # A version published between the first load and the subscription sent its notice
            # to nobody: look once now that notices can arrive.
            self._check()
            last = time.monotonic()
            while not self._stop.is_set():
                # A short wait keeps `stop()` prompt; the safety poll runs on its own period.
                message = pubsub.get_message(timeout=0.25)
                if message is not None or time.monotonic() - last >= self.safety_interval:
                    self._check()
                    last = time.monotonic()
        finally:
            pubsub.close()
