"""The HTTP skeleton: health, `POST /v1/rules/check`, and problem details for every error.

The apps here serve no rules (an empty rules folder): these tests are about the shell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import arbiter
from arbiter.api import app as app_module
from arbiter.api.app import create_app
from arbiter.api.settings import Settings, SettingsError, load_settings

from .conftest import base_settings, start_api

PROBLEM = "application/problem+json"

CLEAN = """\
tag user.tags: set { default [] }
tag order.amount: money
effect show(content: string, slot: string)
condition new_user = "new_user" in user.tags
scene home_popup { display "首页弹窗" }
strategy s1 {
  scene home_popup
  hit first
  rule r2 { when new_user then show(content: "new", slot: "b") }
}
"""


@contextmanager
def operator_client(tmp_path: Path, **overrides: Any) -> Iterator[TestClient]:
    """A started app whose client sends an operator's key with every request."""
    empty = tmp_path / "no-rules"
    empty.mkdir(exist_ok=True)
    settings = base_settings(database_url=f"sqlite:///{tmp_path / 'app.db'}", rules_dir=str(empty), **overrides)
    with start_api(settings) as api:
        api.client.headers.update(api.headers("operator"))
        yield api.client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with operator_client(tmp_path) as started:
        yield started


def check(client: TestClient, files: dict[str, str]) -> Any:
    response = client.post("/v1/rules/check", json={"files": files})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def assert_problem(response: Any, status: int) -> Any:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["instance"] == "/v1/rules/check"
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    return body


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": arbiter.__version__}


def test_check_clean_file(client: TestClient) -> None:
    assert check(client, {"promo.rules": CLEAN}) == {
        "ok": True,
        "diagnostics": [],
        "summary": "0 errors, 0 warnings",
    }


def test_check_file_with_errors_returns_every_diagnostic_field(client: TestClient) -> None:
    body = check(client, {"promo.rules": CLEAN.replace("in user.tags", "in user.tagz")})
    assert body == {
        "ok": False,
        "diagnostics": [
            {
                "code": "dsl.tag.unknown",
                "severity": "error",
                "message": "unknown tag `user.tagz`; did you mean `user.tags`?",
                "file": "promo.rules",
                "line": 4,
                "column": 36,
                "end_line": 4,
                "end_column": 45,
                "hint": "tags in `user`: tags",
            }
        ],
        "summary": "1 error, 0 warnings",
    }


def test_check_syntax_error_across_files(client: TestClient) -> None:
    body = check(client, {"a.rules": CLEAN, "b.rules": "tag x"})
    assert body["ok"] is False
    assert body["summary"] == "1 error, 0 warnings"
    [diagnostic] = body["diagnostics"]
    assert (diagnostic["code"], diagnostic["file"], diagnostic["line"], diagnostic["column"]) == (
        "dsl.syntax.unexpected_end",
        "b.rules",
        1,
        6,  # just after `x`, where the declaration stops short
    )


def test_malformed_json_is_a_422_problem(client: TestClient) -> None:
    response = client.post(
        "/v1/rules/check", content=b'{"files": ', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 422)
    assert body["type"] == "urn:arbiter:problem:validation"
    assert body["errors"] == [
        {
            "location": ["body"],
            "pointer": "#",
            "detail": "the body is not valid JSON: Expecting value (at character 10)",
            "type": "json_invalid",
        }
    ]


def test_wrong_shape_names_the_fields(client: TestClient) -> None:
    response = client.post("/v1/rules/check", json={"file": {"a.rules": CLEAN}})
    body = assert_problem(response, 422)
    assert body["detail"] == "2 fields are not valid: body.files, body.file"
    assert [(e["location"], e["pointer"], e["type"]) for e in body["errors"]] == [
        (["body", "files"], "#/files", "missing"),
        (["body", "file"], "#/file", "extra_forbidden"),
    ]


def test_file_text_must_be_a_string(client: TestClient) -> None:
    response = client.post("/v1/rules/check", json={"files": {"a/b.rules": 42}})
    body = assert_problem(response, 422)
    [error] = body["errors"]
    assert error["location"] == ["body", "files", "a/b.rules"]
    assert error["pointer"] == "#/files/a~1b.rules"
    assert error["type"] == "string_type"


def test_non_json_body_says_to_send_json(client: TestClient) -> None:
    response = client.post(
        "/v1/rules/check", content=b"tag x", headers={"content-type": "text/plain"}
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["detail"] == "send the body as application/json, not text/plain"


def test_oversized_body_is_a_413_problem(tmp_path: Path) -> None:
    with operator_client(tmp_path, max_body_bytes=1000) as client:
        response = client.post("/v1/rules/check", json={"files": {"a.rules": "#" * 2000}})
    body = assert_problem(response, 413)
    assert body["type"] == "urn:arbiter:problem:body-too-large"
    assert body["detail"] == "the request body is larger than the limit of 1000 bytes"
    assert body["limit_bytes"] == 1000


def test_oversized_body_without_content_length_is_a_413_problem(tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"#" * 200

    with operator_client(tmp_path, max_body_bytes=1000) as client:
        response = client.post(
            "/v1/rules/check", content=chunks(), headers={"content-type": "application/json"}
        )
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


def test_too_many_and_too_large_files_are_named(tmp_path: Path) -> None:
    with operator_client(tmp_path, max_rule_files=2, max_rule_file_bytes=100) as client:
        response = client.post(
            "/v1/rules/check",
            json={"files": {"a.rules": "", "b.rules": "# 年" * 40, "c.rules": ""}},
        )
    body = assert_problem(response, 422)
    assert [(e["location"], e["type"], e["detail"]) for e in body["errors"]] == [
        (["body", "files"], "too_many_files", "at most 2 files may be checked at once, not 3"),
        (["body", "files", "b.rules"], "file_too_large", "the file has 200 bytes; the limit is 100"),
    ]


def test_no_files_is_a_422_problem(client: TestClient) -> None:
    body = assert_problem(client.post("/v1/rules/check", json={"files": {}}), 422)
    assert body["errors"][0]["location"] == ["body", "files"]


def test_unexpected_error_is_a_bare_500_problem(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(sources: object) -> object:
        raise RuntimeError("secret internals at /srv/arbiter/db.py line 12")

    monkeypatch.setattr("arbiter.api.routes.rules.check_sources", explode)
    response = client.post("/v1/rules/check", json={"files": {"a.rules": CLEAN}})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json() == {
        "type": "urn:arbiter:problem:internal",
        "title": "Internal error",
        "status": 500,
        "detail": "the server could not complete the request; it has been logged",
        "instance": "/v1/rules/check",
    }
    assert "secret" not in response.text and "Traceback" not in response.text
    assert "secret internals" in caplog.text


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    missing = client.get("/v1/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert missing.json()["type"] == "about:blank"
    wrong = client.get("/v1/rules/check")
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert wrong.json()["title"] == "Method Not Allowed"


def test_openapi_documents_example_and_problems(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/rules/check"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert set(examples) == {"clean", "unknown_tag"}
    assert "welcome.rules" in examples["clean"]["value"]["files"]
    for status in ("413", "422", "500"):
        assert list(operation["responses"][status]["content"]) == [PROBLEM]
    assert "HTTPValidationError" not in json.dumps(spec)
    assert "errors" in spec["components"]["schemas"]["ValidationProblem"]["properties"]


def test_nothing_is_built_at_import_and_settings_come_from_the_environment() -> None:
    assert not any(type(v).__name__ == "FastAPI" for v in vars(app_module).values())
    settings = load_settings({"ARBITER_MAX_BODY_BYTES": "2048", "ARBITER_REDIS_URL": ""})
    assert settings == Settings(max_body_bytes=2048, redis_url=None)
    with pytest.raises(SettingsError, match="ARBITER_MAX_RULE_FILES must be an integer"):
        load_settings({"ARBITER_MAX_RULE_FILES": "many"})
    app = create_app(replace(settings, database_url="sqlite:///:memory:"))
    assert app.state.settings.max_body_bytes == 2048
