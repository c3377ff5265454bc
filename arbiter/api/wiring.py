"""The composition root of the HTTP service: everything `create_app` needs, built from the
settings when the app starts and taken down when it stops. Nothing here runs at import time.

`Services(settings, clock)` only builds objects (no connection is made); `start()`:

1. creates the schema and, when no ruleset version exists yet, publishes the rule files of
   `ARBITER_RULES_DIR` (default: the `rules/` folder beside the package) — the demo rules —
   and, with `ARBITER_DEMO_DATA`, loads the demo world into an empty database;
2. serves the published version through an `Engine` that a `Reloader` keeps current (Redis
   notices when configured, else polling), with the operators' experiment statuses applied;
3. starts the background threads: the decision-log writer, and a maintenance thread that
   flushes experiment exposures, refreshes experiment statuses and, when the database was
   away at start, retries step 1 until it answers.

`stop()` stops the threads, flushes what is buffered and closes the connections. When the
database cannot be reached at start, the service still starts (`/ready` says 503) and
catches up once the database answers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine as Database
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

import arbiter
from arbiter.api.auth import KeyVerifier
from arbiter.api.limits import RateLimiter, rate_limiter
from arbiter.api.observability import Metrics
from arbiter.api.settings import Settings
from arbiter.clock import Clock, SystemClock
from arbiter.dsl.compiler import Ruleset
from arbiter.engine.decision_log import BoundedLog
from arbiter.engine.engine import Engine
from arbiter.engine.experiments import AssignmentStore
from arbiter.engine.pricing import BudgetView
from arbiter.errors import Conflict
from arbiter.money import CENT, Money
from arbiter.platform.catalog import service as catalog
from arbiter.platform.db import UnitOfWork, create_schema, make_engine
from arbiter.platform.decisions.writer import LogWriter
from arbiter.platform.demo import world
from arbiter.platform.experiments import service as experiments
from arbiter.platform.experiments.stores import (
    BufferedExposures,
    CachedAssignments,
    RedisAssignments,
    SqlAssignments,
)
from arbiter.platform.idempotency.store import IdempotencyStore, RedisIdempotency, SqlIdempotency
from arbiter.platform.orders import credit_payment
from arbiter.platform.payments.channels import simulated_router
from arbiter.platform.payments.verification import SimulatedVerifier
from arbiter.platform.promotions.budgets import (
    PER_USER,
    BudgetStore,
    BudgetUnavailable,
    SqlBudgets,
    UnknownBudget,
)
from arbiter.platform.promotions.redis_budgets import RedisBudgets
from arbiter.platform.rules import service as rules
from arbiter.platform.rules.reload import NothingPublished, Reloader
from arbiter.platform.runtime import Platform
from arbiter.platform.settlement.clearing import ClearingInstitution, SimulatedClearing
from arbiter.platform.suppliers.realtime import SimulatedTopUp

log = logging.getLogger("arbiter.api")

DEMO_PUBLISHER = "arbiter"
DEMO_WHY = "the rule files found at first start"
MAINTENANCE_S = 0.5  # the maintenance thread's tick
STATUS_REFRESH_S = 2.0  # how often experiment statuses set elsewhere are picked up
BOOTSTRAP_RETRY_S = 2.0
RELOAD_POLL_S = 1.0


class ServedEngine(Engine):
    """An Engine whose every swap (hot reloads included) keeps the operators' experiment
    statuses, which the rule files alone do not know."""

    def __init__(self, ruleset: Ruleset, clock: Clock, *, status: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(ruleset, clock, experiment_status=status, **kwargs)
        self.experiment_status: dict[str, str] = dict(status)

    def swap(self, ruleset: Ruleset, version: int | None,
             experiment_status: Mapping[str, str] | None = None) -> None:
        if experiment_status is not None:
            self.experiment_status = dict(experiment_status)
        super().swap(ruleset, version, self.experiment_status)

    def restatus(self, status: Mapping[str, str]) -> None:
        if dict(status) != self.experiment_status:
            self.swap(self.ruleset, self.version, status)


class StoreBudgetView:
    """The budget store seen by one price trial: what is left of each budget (read once per
    promotion), and whether the user has used up the per-user limit the rules declare. A
    promotion without a budget in the store has none; a store that cannot be reached makes
    the trial optimistic (the reservation at order time is what decides)."""

    def __init__(self, store: BudgetStore, ruleset: Ruleset) -> None:
        self.store = store
        self.ruleset = ruleset
        self._remaining: dict[str, Decimal | None] = {}

    def remaining(self, promotion: str) -> Decimal | None:
        if promotion not in self._remaining:
            try:
                self._remaining[promotion] = self.store.remaining(promotion).amount
            except UnknownBudget:
                self._remaining[promotion] = None
            except BudgetUnavailable as exc:
                log.warning("trial without budgets: %s", exc)
                self._remaining[promotion] = None
        return self._remaining[promotion]

    def uses_left(self, promotion: str, user: str | None) -> int | None:
        compiled = self.ruleset.promotions.get(promotion)
        if compiled is None or compiled.promotion.per_user is None or user is None:
            return None
        if self.remaining(promotion) is None:
            return None  # no budget in the store: nothing counts the uses either
        try:
            preview = self.store.preview(promotion, Money(CENT, compiled.promotion.currency),
                                         user=user, per_user=compiled.promotion.per_user)
        except (UnknownBudget, BudgetUnavailable):
            return None
        # The store says whether the limit is reached, not how far away it is.
        return 0 if preview.reason == PER_USER else None


def default_rules_dir() -> Path:
    return Path(arbiter.__file__).resolve().parent.parent / "rules"


def read_rule_files(folder: Path) -> dict[str, str]:
    """{name: text} of the `.rules` files under `folder`, named from its parent
    (`rules/promotions.rules`), as `arbiter rules publish rules/` names them from the root."""
    return {
        path.relative_to(folder.parent).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*.rules"))
    }


def _database(url: str) -> Database:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        # Fail fast when the server is away: readiness checks must answer, not hang.
        url = parsed.update_query_dict({"connect_timeout": "5"}).render_as_string(hide_password=False)
    return make_engine(url)


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


class Services:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.metrics = Metrics()
        self.database = _database(settings.database_url)
        self.redis: Any | None = _redis(settings.redis_url) if settings.redis_url else None
        self.keys = KeyVerifier(self.database, settings.key_cache_seconds)
        prefix = settings.redis_prefix
        self.limiter: RateLimiter = rate_limiter(settings.rate_limit_per_second, settings.rate_limit_burst,
                                                 self.redis, prefix)
        self.idempotency: IdempotencyStore
        self.assignments: AssignmentStore
        self.budgets: BudgetStore
        if self.redis is not None:
            self.idempotency = RedisIdempotency(self.redis, prefix=prefix)
            self.assignments = RedisAssignments(self.redis, prefix)
            self.budgets = RedisBudgets(self.redis, self.clock, prefix)
        else:
            self.idempotency = SqlIdempotency(self.database, self.clock)
            self.assignments = SqlAssignments(self.database, self.clock)
            self.budgets = SqlBudgets(self.database, self.clock)
        # Sticky assignments never change once written: remembered, so decisions skip the I/O.
        self.assignments = CachedAssignments(self.assignments)
        self.exposures = BufferedExposures()
        self.decision_log = BoundedLog()
        self.writer: LogWriter | None = LogWriter(self.decision_log, self.database)
        self.reloader = Reloader(
            self.database, self.clock, engine_factory=self._engine_for, redis=self.redis,
            poll_interval=RELOAD_POLL_S,
        )
        # The platform flows' adapters: the simulated channels, verifier, top-up supplier and
        # clearing institution on the embedded defaults (a deployment wires its own here).
        self.router = simulated_router(settings.channel_secret.encode())
        credit_payment.register(self.router)
        self.verifier = SimulatedVerifier()
        self.topup = SimulatedTopUp()
        self.clearing: ClearingInstitution = SimulatedClearing()
        self.status: dict[str, str] = {}
        self.bootstrapped = False
        self.bootstrap_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.metrics.watch(self)

    # --------------------------------------------------------------------------- serving

    def _engine_for(self, ruleset: Ruleset, number: int) -> Engine:
        return ServedEngine(ruleset, self.clock, version=number, status=self.status,
                            assignments=self.assignments, exposures=self.exposures, log=self.decision_log)

    @property
    def engine(self) -> Engine:
        """The engine on the published version (NothingPublished, a 503, before there is one)."""
        return self.reloader.engine

    def platform(self) -> Platform:
        """What the platform flows run on, with the engine of the version published now
        (NothingPublished, a 503, before there is one)."""
        return Platform(db=self.database, decisions=self.engine, budgets=self.budgets, clock=self.clock,
                        router=self.router, verifier=self.verifier, topup=self.topup)

    @property
    def ruleset_version(self) -> int | None:
        return self.reloader.version

    def budget_view(self, ruleset: Ruleset) -> BudgetView:
        """What one price trial reads of budgets and per-user limits (read only)."""
        return StoreBudgetView(self.budgets, ruleset)

    def reload(self) -> None:
        """Serve the published version now (after a publish or rollback made here)."""
        self.reloader.load_current()

    def refresh_statuses(self) -> None:
        with UnitOfWork(self.database) as uow:
            self.status = experiments.statuses(uow)
        try:
            engine = self.reloader.engine
        except NothingPublished:
            return  # the first engine is built with `self.status`
        if isinstance(engine, ServedEngine):
            engine.restatus(self.status)

    # --------------------------------------------------------------------------- lifecycle

    def bootstrap(self) -> bool:
        """Schema, first rules, first load; False (and the reason kept) when it cannot."""
        try:
            create_schema(self.database)
            self._publish_first_rules()
            self.refresh_statuses()
            self.reload()
            if self.settings.demo_data:
                self._load_demo_world()
        except Exception as exc:  # the database away, most likely: retried by the maintenance thread
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if reason != self.bootstrap_error:
                log.error("start-up not complete, will retry: %s", reason)
            self.bootstrap_error = reason
            return False
        self.bootstrapped = True
        self.bootstrap_error = None
        return True

    def _publish_first_rules(self) -> None:
        with UnitOfWork(self.database) as uow:
            if rules.current_number(uow) is not None or rules.versions(uow):
                return
            folder = Path(self.settings.rules_dir) if self.settings.rules_dir else default_rules_dir()
            sources = read_rule_files(folder) if folder.is_dir() else {}
            if not sources:
                log.warning("no rule files in %s: nothing is published until rules are", folder)
                return
            try:
                result = rules.publish(uow, sources, by=DEMO_PUBLISHER, why=DEMO_WHY, clock=self.clock,
                                       redis=self.redis)
            except rules.UnchangedRules:
                return  # another process of the service published them first
            except rules.RulesRejected as exc:
                log.error("the rule files in %s were not published: %s", folder, exc)
                return
            log.info("published %d rule files from %s as version %d", len(sources), folder,
                     result.version.number)

    def _load_demo_world(self) -> None:
        """The demo world, once: skipped when its goods are there (another worker of the
        service may have loaded them first; then this one's attempt fails on the unique keys)."""
        with UnitOfWork(self.database) as uow:
            if catalog.get_sku(uow, world.PHONE) is not None:
                return
            try:
                world.build(uow, self.platform(), self.clock.now())
            except (IntegrityError, Conflict):
                uow.session.rollback()
                log.info("the demo world was loaded by another worker")
                return
        log.info("loaded the demo world: goods, the %s warehouse, suppliers and promotions", world.WAREHOUSE)

    def start(self) -> None:
        self.bootstrap()
        self.reloader.start()
        if self.writer is not None:
            self.writer.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._maintain, name="arbiter-maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.reloader.stop()
        if self.writer is not None:
            self.writer.stop()
        self.exposures.flush(self.database)
        self.database.dispose()
        if self.redis is not None:
            self.redis.close()

    def _maintain(self) -> None:
        since_status = since_bootstrap = 0.0
        while not self._stop.wait(MAINTENANCE_S):
            since_status += MAINTENANCE_S
            since_bootstrap += MAINTENANCE_S
            try:
                if not self.bootstrapped:
                    if since_bootstrap >= BOOTSTRAP_RETRY_S:
                        since_bootstrap = 0.0
                        self.bootstrap()
                    continue
                self.exposures.flush(self.database)
                if since_status >= STATUS_REFRESH_S:
                    since_status = 0.0
                    self.refresh_statuses()
            except Exception as exc:  # keep the thread alive whatever happens
                log.warning("maintenance step failed: %s", exc)

    # --------------------------------------------------------------------------- readiness

    def check_stores(self) -> list[str]:
        """What is not reachable (empty when ready)."""
        failures: list[str] = []
        try:
            with self.database.connect() as connection:
                connection.execute(text("select 1"))
        except Exception as exc:
            # Named by kind only: the details (hosts, users) go to the log, not to callers.
            log.warning("readiness: database unreachable: %s", exc)
            failures.append(f"database unreachable ({type(exc).__name__})")
        if self.redis is not None:
            try:
                self.redis.ping()
            except Exception as exc:
                log.warning("readiness: Redis unreachable: %s", exc)
                failures.append(f"redis unreachable ({type(exc).__name__})")
        if not failures and not self.bootstrapped:
            failures.append("start-up not complete (the schema or the first rules; see the logs)")
        return failures

