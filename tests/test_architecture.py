"""The rules of the house that a machine can check, read off the source with `ast`.

- Dependencies point one way: money/clock/errors <- dsl <- engine <- platform <- api / cli.
- The core (`arbiter.dsl`, `arbiter.engine`) is pure: no database, network or web framework,
  no environment, no wall clock, no randomness.
- No `eval` or `exec` anywhere in `arbiter/`.
- Nothing is built at import time: no app, engine, client, parser or settings at module level.
- No top-level `platform` module (it would shadow the standard library), and every test
  folder is a package, so that `tests/platform` is `tests.platform`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "arbiter"

# The layer of each part of `arbiter`; a module may import only from its own part and lower
# layers. `cli` may also use `api` (to serve it); `api` must not use `cli`.
LAYERS = {
    "arbiter": 0,
    "arbiter.money": 0,
    "arbiter.clock": 0,
    "arbiter.errors": 0,
    "arbiter.dsl": 1,
    "arbiter.engine": 2,
    "arbiter.platform": 3,
    "arbiter.api": 4,
    "arbiter.cli": 4,
    "arbiter.commands": 4,
}
ALSO_ALLOWED = {
    ("arbiter.cli", "arbiter.api"),
    ("arbiter.cli", "arbiter.commands"),
    ("arbiter.commands", "arbiter.api"),
}

PURE = ("arbiter.dsl", "arbiter.engine")
IMPURE_MODULES = {
    "sqlmodel", "sqlalchemy", "redis", "psycopg", "psycopg2", "fastapi", "starlette",
    "httpx", "httpx2", "requests", "uvicorn", "random", "secrets",
}
ENVIRONMENT = {"environ", "environb", "getenv", "putenv", "unsetenv"}
# Calls that read the wall clock or draw randomness: (receiver's last name, attribute).
CLOCK_CALLS = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "time_ns"), ("uuid", "uuid1"), ("uuid", "uuid4"),
}
# Things that must never be built at import time (called at module or class level).
BUILDERS = {
    "FastAPI", "create_app", "load_settings", "create_engine", "create_async_engine",
    "Redis", "StrictRedis", "from_url", "Lark", "sessionmaker",
}


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def known_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports(path: Path, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, relative ones resolved."""
    here = module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = here.split(".")
                drop = node.level - 1 if is_package(path) else node.level
                anchor = anchor[: len(anchor) - drop] if drop else anchor
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield node.lineno, candidate if known_module(candidate) else base


def part_of(name: str) -> str | None:
    """The LAYERS key a module belongs to (the longest matching prefix), if it is arbiter's."""
    best = None
    for key in LAYERS:
        if (name == key or name.startswith(key + ".")) and (best is None or len(key) > len(best)):
            best = key
    return best


def test_every_module_has_a_layer() -> None:
    top_level = {".".join(module_name(p).split(".")[:2]) for p in source_files()}
    unplaced = sorted(top_level - LAYERS.keys())
    assert unplaced == [], (
        f"{', '.join(unplaced)}: place every top-level module of arbiter in LAYERS "
        "(tests/test_architecture.py) so the direction of its imports is checked"
    )


def test_dependencies_point_one_way() -> None:
    violations = []
    for path in source_files():
        here = module_name(path)
        here_part = part_of(here)
        assert here_part is not None
        for line, target in imports(path, parse(path)):
            there_part = part_of(target)
            if there_part is None or there_part == here_part:
                continue
            lower = LAYERS[there_part] < LAYERS[here_part]
            shared = LAYERS[there_part] == LAYERS[here_part] == 0  # the primitives use each other
            allowed = lower or shared or (here_part, there_part) in ALSO_ALLOWED
            if not allowed:
                violations.append(f"{path.relative_to(ROOT)}:{line}: {here} imports {target}")
    assert violations == [], "imports against the direction of the layers:\n" + "\n".join(violations)


def receiver_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def impurities(path: Path, tree: ast.Module) -> Iterator[str]:
    for line, target in imports(path, tree):
        if target.split(".")[0] in IMPURE_MODULES:
            yield f"{line}: imports {target}"
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in {"os", "time", "uuid"}:
            for alias in node.names:
                if alias.name in ENVIRONMENT or (node.module, alias.name) in CLOCK_CALLS:
                    yield f"{node.lineno}: imports {alias.name} from {node.module}"
        elif isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT:
            if receiver_name(node.value) == "os":
                yield f"{node.lineno}: reads the environment (os.{node.attr})"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if (receiver_name(node.func.value), node.func.attr) in CLOCK_CALLS:
                name = f"{receiver_name(node.func.value)}.{node.func.attr}"
                yield f"{node.lineno}: calls {name}() (take a Clock or a seed instead)"


@pytest.mark.parametrize("part", PURE)
def test_core_is_pure(part: str) -> None:
    folder = ROOT.joinpath(*part.split("."))
    found = [
        f"{path.relative_to(ROOT)}:{problem}"
        for path in sorted(folder.rglob("*.py"))
        for problem in impurities(path, parse(path))
    ]
    assert found == [], f"{part} must stay pure:\n" + "\n".join(found)


def test_no_eval_or_exec() -> None:
    found = []
    for path in source_files():
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id in {"eval", "exec"})
                or (isinstance(node.func, ast.Attribute) and node.func.attr in {"eval", "exec"}
                    and receiver_name(node.func.value) == "builtins")
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], "eval/exec calls:\n" + "\n".join(found)


def import_time_calls(tree: ast.Module) -> Iterator[ast.Call]:
    """Calls that run when the module is imported: module and class bodies, decorators and
    default values, but not function bodies."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            pending.extend(node.decorator_list)
            pending.extend(node.args.defaults)
            pending.extend(d for d in node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            yield node
        pending.extend(ast.iter_child_nodes(node))


def test_nothing_is_built_at_import_time() -> None:
    found = []
    for path in source_files():
        for call in import_time_calls(parse(path)):
            name = receiver_name(call.func)
            if name in BUILDERS:
                found.append(f"{path.relative_to(ROOT)}:{call.lineno}: {name}(...) at import time")
    assert found == [], "build these in a factory called by a composition root:\n" + "\n".join(found)


def test_app_module_builds_nothing_at_import_time() -> None:
    tree = parse(PACKAGE / "api" / "app.py")
    names = [receiver_name(call.func) for call in import_time_calls(tree)]
    assert "create_app" not in names and "FastAPI" not in names
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "create_app" in functions


def test_no_top_level_platform_module() -> None:
    shadows = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "platform.py", ROOT / "platform", ROOT / "src" / "platform")
        if p.exists()
    ]
    assert shadows == [], "a top-level `platform` shadows the standard library; use arbiter.platform"
    assert (PACKAGE / "platform" / "__init__.py").is_file()


def test_test_folders_are_packages() -> None:
    assert (ROOT / "tests" / "__init__.py").is_file()
    missing = sorted(
        folder.relative_to(ROOT).as_posix()
        for folder in (ROOT / "tests").rglob("*")
        if folder.is_dir()
        and "__pycache__" not in folder.parts
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").is_file()
    )
    assert missing == [], "add an __init__.py to: " + ", ".join(missing)


def test_the_checker_sees_violations() -> None:
    """The walkers above find what they look for (so a green run means something)."""
    bad = ast.parse(
        "import os, random\n"
        "from sqlalchemy import text\n"
        "from datetime import datetime\n"
        "x = os.environ['A']\n"
        "def f():\n"
        "    return datetime.now(), eval('1')\n"
        "app = FastAPI()\n"
    )
    fake = PACKAGE / "engine" / "fake.py"
    problems = list(impurities(fake, bad))
    assert [p.split(": ", 1)[1] for p in problems] == [
        "imports random",
        "imports sqlalchemy",
        "reads the environment (os.environ)",
        "calls datetime.now() (take a Clock or a seed instead)",
    ]
    assert [receiver_name(c.func) for c in import_time_calls(bad)] == ["FastAPI"]
    relative = ast.parse("from ..platform import not_a_module\nfrom .. import errors\n")
    assert [t for _, t in imports(fake, relative)] == ["arbiter.platform", "arbiter.errors"]
