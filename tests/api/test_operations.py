"""Running the service: rate limits, readiness, metrics, request ids and JSON logs, the
OpenAPI document, the decision log written in the background, and the first start."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from arbiter.api.app import create_app
from arbiter.api.observability import JsonFormatter
from arbiter.api.settings import SettingsError, load_settings
from arbiter.money import Money
from arbiter.platform.catalog import service as catalog
from arbiter.platform.db import UnitOfWork
from arbiter.platform.demo import world
from arbiter.platform.suppliers import service as suppliers

from . import role_tables
from .conftest import Api, assert_problem, backend_settings, base_settings, start_api


@pytest.mark.parametrize("backend", ["sqlite", "services"])
def test_a_key_over_its_rate_gets_429_with_retry_after(backend: str, request: pytest.FixtureRequest,
                                                       tmp_path: Path) -> None:
    empty = tmp_path / "rules"
    empty.mkdir()
    with backend_settings(backend, request, tmp_path, rate_limit_per_second=1, rate_limit_burst=2,
                          rules_dir=str(empty)) as settings, start_api(settings, backend) as api:
        answers = [api.get("analyst", "/v1/rules/versions") for _ in range(3)]
        assert [a.status_code for a in answers[:2]] == [200, 200]
        problem = assert_problem(answers[2], 429, "rate-limited")
        assert answers[2].headers["retry-after"] == "1"
        assert problem["retry_after"] == 1
        assert api.get("operator", "/v1/rules/versions").status_code == 200  # its own bucket


def test_ready_is_503_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = base_settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none", rules_dir=str(tmp_path))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/health").status_code == 200
        response = client.get("/ready")
        problem = assert_problem(response, 503, "not-ready")
        assert problem["failures"] == ["database unreachable (OperationalError)"]
        assert problem["instance"] == "/ready"
        calls = client.get("/v1/rules/versions", headers={"X-API-Key": "ak_000000000000_" + "x" * 43})
        assert assert_problem(calls, 503, "store-unavailable")["detail"] == (
            "a store the call needs cannot be reached; retry later")


def test_ready_is_503_when_redis_is_unreachable(tmp_path: Path) -> None:
    settings = base_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", redis_url="redis://127.0.0.1:1/0",
                             rules_dir=str(tmp_path))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        problem = assert_problem(client.get("/ready"), 503, "not-ready")
        assert problem["failures"] == ["redis unreachable (ConnectionError)"]


def test_ready_when_the_stores_answer(sqlite_api: Api) -> None:
    assert sqlite_api.client.get("/ready").json() == {
        "status": "ready", "database": "ok", "redis": "not configured", "ruleset_version": 1}


def test_metrics_and_the_decision_log(sqlite_api: Api) -> None:
    for user in ("m-1", "m-2"):
        assert sqlite_api.post("service", "/v1/decisions/home_popup",
                               json={"context": {"user": {"id": user}}}).status_code == 200
    sqlite_api.post("service", "/v1/decisions/nowhere", json={})
    metrics = sqlite_api.client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text_ = metrics.text
    assert 'arbiter_decision_seconds_count{scene="home_popup"} 2.0' in text_
    assert 'arbiter_problems_total{status="404"} 1.0' in text_
    assert 'arbiter_http_requests_total{method="POST",route="/v1/decisions/{scene}",status="200"} 2.0' in text_
    assert "arbiter_decision_log_dropped_total 0.0" in text_
    assert "arbiter_exposures_dropped_total 0.0" in text_
    assert "arbiter_ruleset_version 1.0" in text_
    writer = sqlite_api.services.writer
    assert writer is not None
    writer.flush()
    with sqlite_api.services.database.connect() as connection:
        scenes = connection.execute(text("select scene, ruleset_version from decision_log")).all()
    assert ("home_popup", 1) in scenes and len(scenes) >= 2


def test_request_ids_and_json_access_logs(sqlite_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="arbiter.api")
    given = sqlite_api.get("analyst", "/v1/rules/versions", headers={"X-Request-Id": "req-42"})
    assert given.headers["x-request-id"] == "req-42"
    made = sqlite_api.get("analyst", "/v1/rules/versions", headers={"X-Request-Id": "bad id\twith tabs"})
    assert len(made.headers["x-request-id"]) == 32 and made.headers["x-request-id"] != "bad id\twith tabs"
    refused = sqlite_api.get(None, "/v1/rules/versions", headers={"X-Request-Id": "req-43"})
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "req-43"
    [record] = [r for r in caplog.records if getattr(r, "request_id", None) == "req-42"]
    line = json.loads(JsonFormatter().format(record))
    assert {k: line[k] for k in ("level", "logger", "request_id", "method", "route", "status")} == {
        "level": "info", "logger": "arbiter.api", "request_id": "req-42", "method": "GET",
        "route": "/v1/rules/versions", "status": 200,
    }
    assert line["key_id"] and isinstance(line["duration_ms"], float)


def test_docs_and_an_example_for_every_request_body(sqlite_api: Api) -> None:
    docs = sqlite_api.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = sqlite_api.client.get("/openapi.json").json()
    bodies = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            bodies += 1
            media = operation["requestBody"]["content"]["application/json"]
            assert media.get("examples"), f"{method.upper()} {path} has no example"
            for example in media["examples"].values():
                assert example["summary"] and example["value"] is not None
    assert bodies >= 15
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    reserve = spec["paths"]["/v1/budgets/{promotion}/reserve"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in reserve["parameters"])


def test_the_first_start_publishes_the_rules_folder_once(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "mini.rules").write_text(
        'effect show(content: string)\nscene s { access api }\n'
        'strategy st { scene s hit first rule r { then show(content: "hi") } }\n', encoding="utf-8")
    settings = base_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", rules_dir=str(folder))
    for _ in range(2):  # a restart finds the version and publishes nothing
        with start_api(settings) as api:
            versions = api.get("operator", "/v1/rules/versions").json()
            assert [(v["number"], v["files"], v["created_by"]) for v in versions] == [
                (1, ["rules/mini.rules"], "arbiter")]
            decision = api.post("service", "/v1/decisions/s", json={}).json()
            assert decision["effects"] == [{"type": "show", "content": "hi"}]


def test_no_rules_means_503_for_decisions_until_some_are_published(tmp_path: Path) -> None:
    settings = base_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", rules_dir=str(tmp_path / "none"))
    with start_api(settings) as api:
        assert api.client.get("/ready").json()["ruleset_version"] is None
        problem = assert_problem(api.post("service", "/v1/decisions/home_popup", json={}), 503,
                                 "rules.none_published")
        assert problem["detail"] == "no ruleset version is published yet"


def test_demo_data_is_loaded_once_into_an_empty_database(tmp_path: Path) -> None:
    settings = base_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", demo_data=True)
    for _ in range(2):  # a restart finds the goods there and loads nothing again
        with start_api(settings) as api:
            assert api.client.get("/ready").status_code == 200
            with UnitOfWork(api.services.database) as uow:
                phone = catalog.get_sku(uow, world.PHONE)
                assert phone is not None and phone.sale_price == Money.of("3999.00")
                for code in (world.STOCK_SUPPLIER, world.DROPSHIP_SUPPLIER, world.TOPUP_SUPPLIER):
                    assert suppliers.get_supplier(uow, code) is not None


def test_demo_data_is_off_unless_asked_for(sqlite_api: Api) -> None:
    with UnitOfWork(sqlite_api.services.database) as uow:
        assert catalog.get_sku(uow, world.PHONE) is None


def test_the_new_settings_come_from_the_environment() -> None:
    settings = load_settings({"ARBITER_RATE_LIMIT_PER_SECOND": "0", "ARBITER_RULES_DIR": "/srv/rules",
                              "ARBITER_KEY_CACHE_SECONDS": "30", "ARBITER_REDIS_PREFIX": "shop-a"})
    assert (settings.rate_limit_per_second, settings.rules_dir, settings.key_cache_seconds,
            settings.redis_prefix) == (0, "/srv/rules", 30, "shop-a")
    assert load_settings({"ARBITER_DEMO_DATA": "1"}).demo_data is True
    assert load_settings({}).demo_data is False
    with pytest.raises(SettingsError, match="ARBITER_DEMO_DATA must be true or false, not 'maybe'"):
        load_settings({"ARBITER_DEMO_DATA": "maybe"})


def test_every_documented_example_is_a_valid_request(tmp_path: Path) -> None:
    """Each request-body example in the OpenAPI document passes validation (an admin key,
    which every route admits, sends it; what the call then does is not the point here)."""
    values = {"scene": "home_popup", "number": "1", "name": "home_popup_ab", "promotion": "phone_item_cut",
              "code": "fashion_20_off_99", "shop": "shop-fashion-001", **role_tables.PATH_VALUES}
    with start_api(base_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}")) as api:
        spec = api.client.get("/openapi.json").json()
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if "requestBody" not in operation:
                    continue
                concrete = path.format(**values)
                for name, example in operation["requestBody"]["content"]["application/json"]["examples"].items():
                    response = api.call("admin", method.upper(), concrete, json=example["value"])
                    assert response.status_code < 500, (method, path, name, response.text)
                    if response.status_code == 422:
                        assert response.json()["type"] != "urn:arbiter:problem:validation", (
                            method, path, name, response.text)
