"""`arbiter backtest` on the demo rules: a generated, labelled stream of payments — ordinary
shoppers, money mules splitting payments just below 10,000 yuan (structuring), and brushing
rings of accounts on one device buying from one shop — replayed through the demo rules (the
candidate) and a live version whose structuring control is switched off. The figures the
command reports are computed here again by plain loops over the same events."""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from arbiter.cli import app

RULES = Path(__file__).resolve().parents[3] / "rules"
T0 = datetime(2026, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)
STRUCTURING_ON = "count(payment by user.id within 1d) >= 3\n"
STRUCTURING_OFF = "count(payment by user.id within 1d) >= 1000\n"

Event = dict[str, Any]


def stream(seed: int = 8) -> tuple[list[Event], dict[str, bool]]:
    """About 2,600 payments over two weeks; labels: true for the mules' and rings' payments."""
    rng = random.Random(seed)
    drafts: list[tuple[datetime, str, str, str, str, bool]] = []  # at, user, amount, device, shop, fraud
    for _ in range(2400):
        user = f"shopper{rng.randrange(300)}"
        at = T0 + timedelta(seconds=rng.randrange(14 * 86400))
        drafts.append((at, user, f"{rng.randrange(1000, 199900) / 100:.2f}", f"dev-{user}", f"shop-{rng.randrange(40)}",
                       False))
    for mule in range(20):  # 4 to 7 payments just below the threshold within 20 hours
        start = T0 + timedelta(days=rng.randrange(13))
        for _ in range(rng.randint(4, 7)):
            at = start + timedelta(minutes=rng.randrange(20 * 60))
            drafts.append((at, f"mule{mule}", f"{rng.randrange(900000, 999999) / 100:.2f}", f"dev-mule{mule}",
                           f"shop-{rng.randrange(40)}", True))
    for ring in range(8):  # 4 to 6 accounts on one device, one shop, within three days
        start = T0 + timedelta(days=rng.randrange(11))
        for member in range(rng.randint(4, 6)):
            at = start + timedelta(minutes=rng.randrange(3 * 24 * 60))
            drafts.append((at, f"ring{ring}-{member}", "59.00", f"dev-shared-{ring}", f"shop-r{ring}", True))
    drafts.sort()
    events, labels = [], {}
    for i, (at, user, amount, device, shop, fraud) in enumerate(drafts):
        event_id = f"e{i}"
        events.append({"id": event_id, "kind": "payment", "at": at.isoformat(), "context": {
            "user": {"id": user, "level": 3},
            "order": {"amount": amount, "subtotal": amount, "item_count": 1, "shop": shop},
            "payment": {"method": "alipay", "amount": amount},
            "passthrough": {"device_id": device},
        }})
        labels[event_id] = fraud
    return events, labels


def expected(events: list[Event], labels: dict[str, bool]) -> dict[str, Any]:
    """Each side's action by brute force: a brushing ring (3 or more other accounts on the
    device bought from the shop within 7 days) is held on both sides, structuring (3 or more
    payments by the user within a day, averaging 9,000 to 10,000, and this one 9,000 to
    9,999.99) by the candidate only; the rest passes (level-3 shoppers below 20,000: 20 points
    at most)."""
    live, candidate = [], []
    parsed = [(datetime.fromisoformat(e["at"]), e["context"]) for e in events]
    for i, (at, ctx) in enumerate(parsed):
        amount = Decimal(ctx["payment"]["amount"])
        before = parsed[:i]
        accounts = {c["user"]["id"] for t, c in before if at - t < 7 * DAY
                    and c["passthrough"]["device_id"] == ctx["passthrough"]["device_id"]
                    and c["order"]["shop"] == ctx["order"]["shop"]}
        ring = len(accounts) >= 3
        mine = [Decimal(c["payment"]["amount"]) for t, c in before if at - t < DAY and c["user"]["id"] == ctx["user"]["id"]]
        structuring = (Decimal(9000) <= amount <= Decimal("9999.99") and len(mine) >= 3
                       and len(mine) * 9000 <= sum(mine) < len(mine) * 10000)
        live.append("review" if ring else "pass")
        candidate.append("review" if ring or structuring else "pass")

    def side(actions: list[str]) -> dict[str, Any]:
        counts = {a: actions.count(a) for a in ("reject", "review", "verify", "pass")}
        out: dict[str, Any] = {"actions": counts, "failed": 0}
        for which, positive in (("reject", {"reject"}), ("reject_or_review", {"reject", "review"})):
            flagged = [(a in positive, labels[e["id"]]) for e, a in zip(events, actions, strict=True)]
            tp, fp, fn = flagged.count((True, True)), flagged.count((True, False)), flagged.count((False, True))
            out[which] = {"precision": tp / (tp + fp) if tp + fp else None, "recall": tp / (tp + fn) if tp + fn else None}
        return out

    changes = [{"event": e["id"], "live": a, "candidate": b}
               for e, a, b in zip(events, live, candidate, strict=True) if a != b]
    return {"live": side(live), "candidate": side(candidate), "changed": len(changes), "changes": changes}


def test_the_backtest_command_reports_what_brute_force_computes(tmp_path: Path) -> None:
    events, labels = stream()
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    (tmp_path / "labels.jsonl").write_text(
        "".join(json.dumps({"id": k, "label": v}) + "\n" for k, v in labels.items()), encoding="utf-8")
    live = tmp_path / "live"
    shutil.copytree(RULES, live)
    risk = (live / "risk.rules").read_text(encoding="utf-8")
    assert risk.count(STRUCTURING_ON) == 1
    (live / "risk.rules").write_text(risk.replace(STRUCTURING_ON, STRUCTURING_OFF), encoding="utf-8")

    result = CliRunner().invoke(app, [
        "backtest", str(RULES), "--scene", "payment", "--events", str(tmp_path / "events.jsonl"),
        "--labels", str(tmp_path / "labels.jsonl"), "--live", str(live), "--format", "json",
    ])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    want = expected(events, labels)
    assert (report["scene"], report["events"], report["decided"], report["labelled"]) == (
        "payment", len(events), len(events), len(events))
    assert report["live"] == want["live"]
    assert report["candidate"] == want["candidate"]
    assert (report["changed"], report["changes"]) == (want["changed"], want["changes"])
    # The stream is what it means to be: every mule past its third payment and every ring
    # past its third account is caught by the candidate; nothing ordinary is held.
    assert want["changed"] > 20 and want["live"]["actions"]["review"] > 8
    assert want["candidate"]["reject_or_review"]["precision"] == 1.0
    assert want["live"]["reject"] == {"precision": None, "recall": 0.0}
