"""Settings of the HTTP service: one frozen value, read from the environment on request.

Nothing here runs at import time. `create_app()` calls `load_settings()` when it is not handed
a `Settings`, so tests build apps with exactly the settings they want and the service reads
its environment once, at start. Every field has an embedded default, so `make run` needs no
configuration at all.

| variable                      | field               | default                     |
|-------------------------------|---------------------|-----------------------------|
| ARBITER_ENV                   | env                 | development                 |
| ARBITER_DATABASE_URL          | database_url        | sqlite:///var/arbiter.db    |
| ARBITER_REDIS_URL             | redis_url           | (none: in-memory stores)    |
| ARBITER_MAX_BODY_BYTES        | max_body_bytes      | 1048576                     |
| ARBITER_MAX_RULE_FILES        | max_rule_files      | 100                         |
| ARBITER_MAX_RULE_FILE_BYTES   | max_rule_file_bytes | 262144                      |
| ARBITER_REDIS_PREFIX          | redis_prefix        | arbiter                     |
| ARBITER_RULES_DIR             | rules_dir           | the `rules/` folder beside the package |
| ARBITER_RATE_LIMIT_PER_SECOND | rate_limit_per_second | 100 (0: no limit)         |
| ARBITER_RATE_LIMIT_BURST      | rate_limit_burst    | 200                         |
| ARBITER_KEY_CACHE_SECONDS     | key_cache_seconds   | 5                           |
| ARBITER_LOG_LEVEL             | log_level           | INFO                        |
| ARBITER_CHANNEL_SECRET        | channel_secret      | (the simulated channels' demo secret) |
| ARBITER_DEMO_DATA             | demo_data           | false (`make run` sets it: the demo goods, stock, promotions) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

from arbiter.errors import ArbiterError

PREFIX = "ARBITER_"


class SettingsError(ArbiterError):
    """An environment variable holds a value the service cannot use."""

    code = "api.settings.invalid"


@dataclass(frozen=True, slots=True)
class Settings:
    env: str = "development"
    database_url: str = "sqlite:///var/arbiter.db"
    redis_url: str | None = None
    # Every Redis key the service writes starts with this, so that services can share a Redis.
    redis_prefix: str = "arbiter"
    # Bounds on what one request may carry: the body as a whole, then the rule files in it.
    max_body_bytes: int = 1_048_576
    max_rule_files: int = 100
    max_rule_file_bytes: int = 262_144
    # The rule files published on a first start, when the database holds no version yet.
    rules_dir: str | None = None
    # Requests per second per API key (a token bucket holding `rate_limit_burst`); 0: none.
    rate_limit_per_second: int = 100
    rate_limit_burst: int = 200
    # How long a verified key is trusted before it is read again: a revoked key is refused
    # within this many seconds (0: read on every request).
    key_cache_seconds: int = 5
    log_level: str = "INFO"
    # What the payment channels sign their callbacks with (simulated channels on the defaults).
    channel_secret: str = "simulated-channel-secret"
    # Load the demo world (goods, a stocked warehouse, suppliers, live promotions) into an
    # empty database at start.
    demo_data: bool = False

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_rule_files", "max_rule_file_bytes", "rate_limit_burst"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be a positive integer, not {getattr(self, name)}")
        for name in ("rate_limit_per_second", "key_cache_seconds"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must be 0 or more, not {getattr(self, name)}")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(f"log_level must be DEBUG, INFO, WARNING or ERROR, not {self.log_level!r}")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `ARBITER_*` variables (the process environment unless one is given)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field in fields(Settings):
        raw = env.get(PREFIX + field.name.upper())
        if raw is None:
            continue
        raw = raw.strip()
        if field.type == "int":
            try:
                values[field.name] = int(raw)
            except ValueError:
                raise SettingsError(
                    f"{PREFIX}{field.name.upper()} must be an integer, not {raw!r}"
                ) from None
        elif field.type == "bool":
            if raw.lower() not in ("1", "true", "yes", "0", "false", "no"):
                raise SettingsError(f"{PREFIX}{field.name.upper()} must be true or false, not {raw!r}")
            values[field.name] = raw.lower() in ("1", "true", "yes")
        elif field.type == "str | None":
            values[field.name] = raw or None
        else:
            values[field.name] = raw
    return Settings(**values)  # type: ignore[arg-type]
