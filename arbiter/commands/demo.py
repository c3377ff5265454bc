"""`arbiter demo`: tell the business flows end to end on the embedded defaults — a fresh
SQLite database of its own, in-process stores, simulated payment channels and suppliers, the
demo rules — on Singles' Day 2026, when the demo promotions run."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer

from arbiter.commands.common import existing_rule_paths, fail

SINGLES_DAY = datetime(2026, 11, 11, 10, 0, tzinfo=timezone(timedelta(hours=8)))
FLOWS = ("phone", "dropship", "topup", "merchant", "installments")


def demo_command(
    flow: Annotated[list[str] | None, typer.Option("--flow", help=f"Tell only these flows: {', '.join(FLOWS)}.")] = None,
    rules: Annotated[Path, typer.Option("--rules", help="The rule files to run.")] = Path("rules"),
) -> None:
    """Tell the golden flows step by step, with every figure."""
    from arbiter.clock import FixedClock
    from arbiter.dsl.checker import check_paths
    from arbiter.dsl.compiler import compile_program
    from arbiter.errors import ArbiterError
    from arbiter.platform.compose import simulated_platform
    from arbiter.platform.db import UnitOfWork, create_schema, make_engine
    from arbiter.platform.demo import flows, world
    from arbiter.platform.demo.installment_flow import installment_flow
    from arbiter.platform.demo.merchant_flow import merchant_flow

    chosen = flow or list(FLOWS)
    unknown = [f for f in chosen if f not in FLOWS]
    if unknown:
        fail(f"--flow: {', '.join(unknown)} is not one of {', '.join(FLOWS)}")
    checked = check_paths(existing_rule_paths([rules]))
    if not checked.ok:
        fail(f"{rules}: the rules have errors; run `arbiter check {rules}`")
    ruleset = compile_program(checked)
    with tempfile.TemporaryDirectory(prefix="arbiter-demo-") as folder:
        db = make_engine(f"sqlite:///{Path(folder) / 'demo.db'}")
        try:
            create_schema(db)
            platform = simulated_platform(db, ruleset, FixedClock(SINGLES_DAY))
            with UnitOfWork(db) as uow:
                built = world.build(uow, platform, SINGLES_DAY)
            typer.echo(f"arbiter demo on {SINGLES_DAY:%Y-%m-%d %H:%M %z}: shop {built.shop}, warehouse "
                       f"{built.warehouse} stocked by {built.purchase_order}")
            say = typer.echo
            if "phone" in chosen:
                flows.phone_flow(platform, SINGLES_DAY, path="return", phone="13800138001", say=say)
            if "dropship" in chosen:
                flows.phone_flow(platform, SINGLES_DAY, dropship=True, path="refund_only", phone="13800138003",
                                 say=say)
            if "topup" in chosen:
                flows.top_up_flow(platform, SINGLES_DAY, phone="13800138002", say=say)
                flows.top_up_flow(platform, SINGLES_DAY, supplier_fails=True, phone="13800138004", say=say)
            if "merchant" in chosen:
                merchant_flow(platform, SINGLES_DAY, say=say)
            if "installments" in chosen:
                installment_flow(platform, SINGLES_DAY, phone="13800138007", say=say)
                installment_flow(platform, SINGLES_DAY, funders_refuse=True, policy="close", phone="13800138008",
                                 say=say)
                installment_flow(platform, SINGLES_DAY, funders_refuse=True, policy="keep", phone="13800138009",
                                 say=say)
        except ArbiterError as exc:
            fail(f"the demo stopped: {exc}")
        finally:
            db.dispose()
