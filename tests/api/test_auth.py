"""Authentication and roles: keys in, principals out; every route declares its roles; each
role is refused where it does not belong; a merchant never sees another shop; keys are
hashed at rest and made, listed and revoked from the command line."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from arbiter.api.auth import KeyVerifier, Lookup, route_roles
from arbiter.cli import app as cli
from arbiter.clock import FixedClock
from arbiter.errors import InvalidInput
from arbiter.platform.db import UnitOfWork, create_schema, make_engine
from arbiter.platform.keys import service as keys

from . import role_tables
from .conftest import NOW, OTHER_SHOP, ROLES, SHOP, Api, assert_problem, unique

# Who may call what: the service's contract, spelled out (admin may call everything): the
# engine's routes here, the other areas' in tests/api/role_tables.
ENGINE_ROLES: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/decisions/{scene}"): {"service"},
    ("POST", "/v1/pricing/trial"): {"service"},
    ("POST", "/v1/rules/check"): {"operator", "analyst"},
    ("POST", "/v1/rules/publish"): {"operator"},
    ("POST", "/v1/rules/rollback"): {"operator"},
    ("POST", "/v1/rules/drafts"): {"operator"},
    ("POST", "/v1/rules/drafts/{number}/publish"): {"operator"},
    ("GET", "/v1/rules/versions"): {"operator", "analyst"},
    ("GET", "/v1/rules/versions/{number}"): {"operator", "analyst"},
    ("GET", "/v1/rules/diff"): {"operator", "analyst"},
    ("GET", "/v1/experiments"): {"operator", "analyst"},
    ("POST", "/v1/experiments/{name}/start"): {"operator", "analyst"},
    ("POST", "/v1/experiments/{name}/stop"): {"operator", "analyst"},
    ("GET", "/v1/experiments/{name}/report"): {"operator", "analyst"},
    ("POST", "/v1/coupons/claim"): {"service"},
    ("POST", "/v1/budgets/{promotion}/reserve"): {"service"},
    ("POST", "/v1/budgets/{promotion}/confirm"): {"service"},
    ("POST", "/v1/budgets/{promotion}/release"): {"service"},
    ("PUT", "/v1/budgets/{promotion}"): {"operator"},
    ("GET", "/v1/budgets/{promotion}"): {"operator", "analyst"},
    ("PUT", "/v1/coupon-templates/{code}"): {"operator"},
    ("GET", "/v1/coupon-templates/{code}"): {"operator", "analyst"},
    ("PUT", "/v1/shops/{shop}/coupon-templates/{code}"): {"merchant", "operator"},
    ("GET", "/v1/shops/{shop}/coupon-templates/{code}"): {"merchant", "operator", "analyst"},
    ("GET", "/v1/audit"): {"admin"},
}
ROLE_TABLE = {**ENGINE_ROLES, **role_tables.ROLES}
PATH_VALUES = {"scene": "home_popup", "number": "1", "name": "home_popup_ab", "promotion": "matrix-budget",
               "code": "matrix-template", "shop": SHOP, **role_tables.PATH_VALUES}


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def test_every_v1_route_declares_its_roles(sqlite_api: Api) -> None:
    declared = route_roles(sqlite_api.app)
    v1 = {route: roles for route, roles in declared.items() if route[1].startswith("/v1/")}
    undeclared = sorted(route for route, roles in v1.items() if roles is None)
    assert undeclared == [], f"routes without requires(...): {undeclared}"
    assert {route: set(roles or ()) for route, roles in v1.items()} == {
        route: roles | {"admin"} for route, roles in ROLE_TABLE.items()
    }
    spec = sqlite_api.client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path.startswith("/v1/"):
                expected = [r for r in ROLES if r in ROLE_TABLE[(method.upper(), path)] | {"admin"}]
                assert operation["x-roles"] == expected, (method, path)
                assert operation["security"] == [{"bearer": []}, {"apiKey": []}]
                assert "**Roles:**" in operation["description"]


@pytest.mark.parametrize("route", sorted(ROLE_TABLE), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_role_is_refused_where_it_does_not_belong(sqlite_api: Api, route: tuple[str, str]) -> None:
    method, path = route
    body = {} if method in ("POST", "PUT") else None
    for role in ROLES:
        response = sqlite_api.call(role, method, concrete(path), json=body)
        if role in ROLE_TABLE[route] or role == "admin":
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            problem = assert_problem(response, 403, "forbidden")
            assert problem["role"] == role
    assert_problem(sqlite_api.call(None, method, concrete(path), json=body), 401, "unauthenticated")


def test_missing_malformed_unknown_and_wrong_keys_are_401(sqlite_api: Api) -> None:
    path = "/v1/rules/versions"
    missing = assert_problem(sqlite_api.get(None, path), 401, "unauthenticated")
    assert missing["detail"] == "send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`"
    token = sqlite_api.tokens["operator"]
    key_id = keys.parse_token(token)[0]  # type: ignore[index]
    for header in (
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"Bearer ak_000000000000_{'x' * 43}"},  # unknown id
        {"Authorization": f"Bearer ak_{key_id}_{'x' * 43}"},  # right id, wrong secret
        {"X-API-Key": token + "x"},
    ):
        response = sqlite_api.get(None, path, headers=header)
        problem = assert_problem(response, 401, "unauthenticated")
        assert problem["detail"] == "the API key is not valid (malformed, unknown or revoked)"
        assert response.headers["www-authenticate"] == 'Bearer realm="arbiter"'
    assert sqlite_api.get(None, path, headers={"X-API-Key": token}).status_code == 200
    assert sqlite_api.get(None, path, headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_a_revoked_key_is_refused(sqlite_api: Api) -> None:
    token = sqlite_api.key("analyst")
    headers = {"X-API-Key": token}
    assert sqlite_api.get(None, "/v1/rules/versions", headers=headers).status_code == 200
    with UnitOfWork(sqlite_api.services.database) as uow:
        revoked = keys.revoke(uow, keys.parse_token(token)[0], by="tests", clock=FixedClock(NOW))  # type: ignore[index]
    assert revoked.revoked_at == NOW and revoked.revoked_by == "tests"
    assert_problem(sqlite_api.get(None, "/v1/rules/versions", headers=headers), 401)


def test_keys_are_cached_for_their_ttl_only(sqlite_api: Api) -> None:
    now = [0.0]
    verifier = KeyVerifier(sqlite_api.services.database, ttl=5, timer=lambda: now[0])
    token = sqlite_api.key("service")
    key_id = keys.parse_token(token)[0]  # type: ignore[index]
    assert verifier.verify(token) is not None
    with UnitOfWork(sqlite_api.services.database) as uow:
        keys.revoke(uow, key_id, by="tests", clock=FixedClock(NOW))
    now[0] = 4.9
    assert verifier.verify(token) is not None  # still trusted from the cache
    assert verifier.verify(token + "x") is None  # the secret is compared every time
    now[0] = 5.1
    assert verifier.verify(token) is None


def test_a_cached_key_is_checked_without_the_database(sqlite_api: Api) -> None:
    now = [0.0]
    verifier = KeyVerifier(sqlite_api.services.database, ttl=5, timer=lambda: now[0])
    token = sqlite_api.key("service")
    assert verifier.verify_cached(token) is Lookup.NEEDED
    principal = verifier.verify(token)
    assert principal is not None and principal.role == "service"
    assert verifier.verify_cached(token) == principal
    assert verifier.verify_cached(token + "x") is None  # the secret is still compared
    assert verifier.verify_cached("not a token") is None
    now[0] = 5.1
    assert verifier.verify_cached(token) is Lookup.NEEDED


def test_keys_are_stored_as_a_digest_of_the_secret(sqlite_api: Api) -> None:
    token = sqlite_api.key("merchant", "shop-digest")
    key_id, secret = keys.parse_token(token)  # type: ignore[misc]
    with sqlite_api.services.database.connect() as connection:
        row = connection.execute(text("select * from api_keys where id = :id"), {"id": key_id}).mappings().one()
    assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps({k: str(v) for k, v in row.items()})
    assert (row["role"], row["shop"], row["created_by"]) == ("merchant", "shop-digest", "tests")


def test_a_merchant_key_needs_a_shop_and_roles_are_known(sqlite_api: Api) -> None:
    with UnitOfWork(sqlite_api.services.database) as uow:
        with pytest.raises(InvalidInput, match="a merchant key needs --shop"):
            keys.create(uow, role="merchant", by="tests", clock=FixedClock(NOW))
        with pytest.raises(InvalidInput, match="role: 'root' is not one of"):
            keys.create(uow, role="root", by="tests", clock=FixedClock(NOW))


TEMPLATE = {"display": "满99减20", "threshold": "99.00", "value": "20.00", "ends_at": "2026-11-12T00:00:00+08:00"}


def test_a_merchant_sees_and_changes_only_its_own_shop(sqlite_api: Api) -> None:
    code = unique("shop-coupon")
    own = f"/v1/shops/{SHOP}/coupon-templates/{code}"
    created = sqlite_api.put("merchant", own, json=TEMPLATE)
    assert created.status_code == 200, created.text
    assert (created.json()["kind"], created.json()["scope"]) == ("shop", f"shop:{SHOP}")
    assert sqlite_api.get("merchant", own).json() == created.json()
    assert sqlite_api.get("operator", own).json() == created.json()
    # Another merchant: not through the first shop's path, nor through its own.
    assert_problem(sqlite_api.get("merchant-other", own), 404, "not-found")
    assert_problem(sqlite_api.put("merchant-other", own, json=TEMPLATE), 404, "not-found")
    theirs = f"/v1/shops/{OTHER_SHOP}/coupon-templates/{code}"
    assert_problem(sqlite_api.get("merchant-other", theirs), 404, "not-found")
    assert_problem(sqlite_api.put("merchant-other", theirs, json={**TEMPLATE, "value": "99.00"}), 404)
    assert_problem(sqlite_api.get("merchant", theirs), 404)
    # The first shop's template is untouched, and platform routes stay closed to merchants.
    assert sqlite_api.get("merchant", own).json()["value"] == "20.00"
    assert_problem(sqlite_api.get("merchant", f"/v1/coupon-templates/{code}"), 403, "forbidden")
    assert_problem(sqlite_api.put("merchant", f"/v1/coupon-templates/{code}",
                                  json={**TEMPLATE, "kind": "platform"}), 403)


def test_keys_command_creates_lists_and_revokes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    monkeypatch.setenv("ARBITER_DATABASE_URL", url)
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "create", "--role", "merchant", "--shop", SHOP, "--name", "fashion", "--by", "ops"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    key_id = keys.parse_token(token)[0]  # type: ignore[index]
    assert made.stderr == f"created key {key_id} (role merchant, shop {SHOP}); store it now: it is not shown again\n"
    engine = make_engine(url)
    create_schema(engine)
    with UnitOfWork(engine) as uow:
        assert keys.verify(uow, token) is not None
    listed = runner.invoke(cli, ["keys", "list", "--format", "json"])
    [entry] = json.loads(listed.stdout)
    assert (entry["id"], entry["role"], entry["shop"], entry["name"], entry["created_by"]) == (
        key_id, "merchant", SHOP, "fashion", "ops")
    assert token not in listed.stdout
    revoked = runner.invoke(cli, ["keys", "revoke", key_id, "--by", "ops"])
    assert revoked.exit_code == 0 and revoked.stdout.startswith(f"revoked key {key_id} (role merchant) at ")
    with UnitOfWork(engine) as uow:
        assert keys.verify(uow, token) is None
    assert runner.invoke(cli, ["keys", "list"]).stdout == "no keys\n"
    refused = runner.invoke(cli, ["keys", "create", "--role", "merchant"])
    assert refused.exit_code == 2
    assert refused.stderr == "error: a merchant key needs --shop: it may only ever see its own shop\n"
    unknown = runner.invoke(cli, ["keys", "revoke", "000000000000"])
    assert (unknown.exit_code, unknown.stderr) == (2, "error: there is no API key 000000000000\n")
    engine.dispose()
