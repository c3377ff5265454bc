"""The migrations and `create_schema` make the same schema: upgrading an empty database (SQLite,
and a fresh PostgreSQL schema) to head gives exactly the tables, columns, keys and indexes
the models declare. A model change without its revision fails here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

from arbiter.platform import migrations
from arbiter.platform.db import create_schema, make_engine

VERSION_TABLE = "alembic_version"


def schema_of(engine: Engine) -> dict[str, Any]:
    """Everything about the tables that a migration could get wrong, comparable with ==."""
    found = inspect(engine)
    tables: dict[str, Any] = {}
    for table in sorted(set(found.get_table_names()) - {VERSION_TABLE}):
        tables[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
            "primary_key": found.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted((tuple(fk["constrained_columns"]), fk["referred_table"],
                                    tuple(fk["referred_columns"])) for fk in found.get_foreign_keys(table)),
            "indexes": sorted((i["name"], tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
                              for i in found.get_indexes(table)),
            "unique": sorted((u["name"] or "", tuple(u["column_names"])) for u in found.get_unique_constraints(table)),
            "checks": sorted(c["name"] or "" for c in found.get_check_constraints(table)),
        }
    return tables


def assert_same_schema(migrated_url: str, created_url: str) -> None:
    migrations.upgrade(migrated_url)
    assert migrations.current(migrated_url) is not None
    created = make_engine(created_url)
    migrated = make_engine(migrated_url)
    try:
        create_schema(created)
        expected, actual = schema_of(created), schema_of(migrated)
        assert sorted(actual) == sorted(expected)
        for table in expected:
            assert actual[table] == expected[table], table
        assert VERSION_TABLE in inspect(migrated).get_table_names()
    finally:
        created.dispose()
        migrated.dispose()


def test_upgrading_an_empty_sqlite_database_gives_the_models_schema(tmp_path: Path) -> None:
    assert_same_schema(f"sqlite:///{tmp_path / 'migrated.db'}", f"sqlite:///{tmp_path / 'created.db'}")


def test_upgrading_twice_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    migrations.upgrade(url)
    engine = make_engine(url)
    before = schema_of(engine)
    migrations.upgrade(url)
    assert schema_of(engine) == before
    engine.dispose()


@contextmanager
def fresh_schema(postgres_url: str) -> Iterator[str]:
    schema = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'create schema "{schema}"'))
    try:
        yield make_url(postgres_url).update_query_dict(
            {"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.mark.services
def test_upgrading_an_empty_postgres_schema_gives_the_models_schema(postgres_url: str) -> None:
    with fresh_schema(postgres_url) as migrated, fresh_schema(postgres_url) as created:
        assert_same_schema(migrated, created)


def test_the_db_upgrade_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from arbiter.cli import app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ARBITER_DATABASE_URL", url)
    runner = CliRunner()
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "upgraded from an empty schema to revision" in first.output
    assert "nothing to do" in runner.invoke(app, ["db", "upgrade"]).output
    assert runner.invoke(app, ["db", "current"]).output.strip() == migrations.current(url)

    made_before = f"sqlite:///{tmp_path / 'old.db'}"  # tables from a start before migrations
    engine = make_engine(made_before)
    create_schema(engine)
    engine.dispose()
    monkeypatch.setenv("ARBITER_DATABASE_URL", made_before)
    refused = runner.invoke(app, ["db", "upgrade"])
    assert refused.exit_code == 2
    assert "arbiter db stamp head" in refused.output
    assert runner.invoke(app, ["db", "stamp", "head"]).exit_code == 0
    assert "nothing to do" in runner.invoke(app, ["db", "upgrade"]).output
