"""Schema migrations (Alembic): `upgrade(url)` brings a database to the newest revision.

`env.py` reads the tables from the SQLModel metadata that `arbiter.platform.models` fills;
`versions/` holds one revision per schema change, the first generated from the models. The
service and the tests may still call `create_schema` (create what is missing); a deployed
database is changed with `arbiter db upgrade` only, so every change is a reviewed revision.

To add a revision after changing a module's tables:

    alembic -c arbiter/platform/migrations/alembic.ini revision --autogenerate -m "what changed"

(with `ARBITER_DATABASE_URL` pointing at a database upgraded to the previous revision), then
read and fix the generated file before committing it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

FOLDER = Path(__file__).resolve().parent


def config(url: str) -> Config:
    """An Alembic configuration for `url`, without an ini file on disk."""
    cfg = Config()
    cfg.set_main_option("script_location", str(FOLDER))
    # `%` is interpolation syntax in Alembic's config parser; a URL may hold `%3D` and the like.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(config(url), revision)


def current(url: str) -> str | None:
    """The revision the database is at (None before the first upgrade)."""
    from alembic.runtime.migration import MigrationContext

    from arbiter.platform.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
