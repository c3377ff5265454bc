"""SQL building blocks shared by the platform modules: the write lock that makes SQLite serialise
writers, insert-if-absent and conditional upserts (one statement
each on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement


def write_lock(connection: Connection) -> None:
    """On SQLite, take the database's write lock now (BEGIN IMMEDIATE) unless a transaction
    is already open: a deferred transaction that reads, then writes after another process
    committed, fails at once with SQLITE_BUSY instead of waiting its turn. PostgreSQL locks
    rows as it updates them and needs nothing here."""
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not getattr(raw, "in_transaction", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _insert(table: Table, dialect: str) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"upserts are not written for the {dialect} dialect")


def insert_if_absent(table: Table, dialect: str, values: Mapping[str, Any]) -> Insert:
    """INSERT that does nothing when the key is already there (on PostgreSQL it first waits
    for a concurrent insert of the same key to commit or roll back)."""
    statement: Insert = _insert(table, dialect).values(**values).on_conflict_do_nothing()
    return statement


def insert_many_if_absent(table: Table, dialect: str, rows: Sequence[Mapping[str, Any]]) -> Insert:
    """A multi-row INSERT that skips the rows whose unique keys are already there."""
    statement: Insert = _insert(table, dialect).values([dict(row) for row in rows]).on_conflict_do_nothing()
    return statement


def upsert(
    table: Table,
    dialect: str,
    values: Mapping[str, Any],
    keys: Sequence[Column[Any]],
    update: Mapping[str, Any],
    where: ColumnElement[bool] | None = None,
) -> Insert:
    """INSERT, or on a key conflict UPDATE the existing row when `where` holds, in one
    statement; with RETURNING, no row back means the condition refused the update."""
    statement: Insert = _insert(table, dialect).values(**values).on_conflict_do_update(
        index_elements=list(keys), set_=dict(update), where=where
    )
    return statement
