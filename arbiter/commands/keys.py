"""`arbiter keys`: create, list and revoke the API keys of the HTTP service.

The database is `ARBITER_DATABASE_URL` (SQLite at `var/arbiter.db` when unset), as for the
service itself. `create` prints the key alone on standard output — it is shown this once and
only its digest is stored — and what it is on standard error, so that
`KEY=$(arbiter keys create --role service)` works. Creating and revoking are audited.

Exit status: 0 done; 2 bad input (unknown role, a merchant key without a shop, an unknown
key, an unreachable database). Never a traceback.
"""

from __future__ import annotations

import getpass
import json
from typing import Annotated

import typer

from arbiter.clock import SystemClock
from arbiter.commands.common import fail, unit_of_work
from arbiter.errors import ArbiterError

app = typer.Typer(
    help="Create, list and revoke API keys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ROLES_HELP = "service, operator, analyst, merchant or admin"


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        return "cli"


By = Annotated[str | None, typer.Option("--by", help="Who makes the change (recorded; default: the OS user).")]


@app.command()
def create(
    role: Annotated[str, typer.Option("--role", help=ROLES_HELP)],
    shop: Annotated[str | None, typer.Option("--shop", help="The shop a merchant key is bound to.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="What the key is for.")] = None,
    by: By = None,
) -> None:
    """Make a key; it is printed once, on standard output."""
    from arbiter.platform.keys import service

    with unit_of_work() as uow:
        try:
            created = service.create(uow, role=role, shop=shop, name=name, by=by or _who(), clock=SystemClock())
        except ArbiterError as exc:
            fail(str(exc))
    key = created.key
    typer.echo(created.token)
    bound = f", shop {key.shop}" if key.shop else ""
    typer.echo(f"created key {key.id} (role {key.role}{bound}); store it now: it is not shown again", err=True)


@app.command("list")
def list_keys(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """The keys (never their secrets): id, role, shop, name, who made them and when."""
    if format not in ("text", "json"):
        fail("--format takes text or json")
    from arbiter.platform.keys import service

    with unit_of_work() as uow:
        found = service.keys(uow, include_revoked=all_keys)
    if format == "json":
        typer.echo(json.dumps([{
            "id": k.id, "role": k.role, "shop": k.shop, "name": k.name, "created_by": k.created_by,
            "created_at": k.created_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        } for k in found], ensure_ascii=False, indent=2))
        return
    if not found:
        typer.echo("no keys")
        return
    for k in found:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        typer.echo(f"{k.id}  {k.role:<8}  {k.shop or '-':<16}  {state:<24}  {k.name or ''}".rstrip())


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (the part after `ak_`).")],
    by: By = None,
) -> None:
    """Refuse the key from now on (running services within their key cache time)."""
    from arbiter.platform.keys import service

    with unit_of_work() as uow:
        try:
            key = service.revoke(uow, key_id, by=by or _who(), clock=SystemClock())
        except ArbiterError as exc:
            fail(str(exc))
    typer.echo(f"revoked key {key.id} (role {key.role}) at {key.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
