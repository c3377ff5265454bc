"""What changed between two sets of rule files, declaration by declaration.

Each declaration is named (a tag by its path, a rule by `strategy.rule`, everything else by
its name) and reduced to its canonical text: the printer's layout, without comments. Two
declarations differ only when that text differs, so moving a rule to another file, reordering
declarations or reformatting changes nothing. A strategy's text leaves out its rules, which
are compared one by one, so editing one rule reports that rule and not its strategy too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl.parser import parse
from arbiter.dsl.printer import format_module

# Top-level block kinds and the name of their part of a diff.
_BLOCK_KINDS = {
    "scene": "scenes",
    "strategy": "strategies",
    "experiment": "experiments",
    "holdout": "holdouts",
    "promotion": "promotions",
    "test": "tests",
}


@dataclass(frozen=True, slots=True)
class Changes:
    """Names added, removed and changed in one kind of declaration, each sorted."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_json(self) -> dict[str, list[str]]:
        return {"added": list(self.added), "removed": list(self.removed), "changed": list(self.changed)}


@dataclass(frozen=True, slots=True)
class RulesetDiff:
    """From version `a` to version `b`: what `b` adds, removes and changes."""

    a: int | None
    b: int | None
    rules: Changes
    conditions: Changes
    tags: Changes
    effects: Changes
    scenes: Changes
    strategies: Changes
    experiments: Changes
    holdouts: Changes
    promotions: Changes
    tests: Changes

    def parts(self) -> Iterator[tuple[str, Changes]]:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Changes):
                yield f.name, value

    @property
    def empty(self) -> bool:
        return not any(changes for _, changes in self.parts())

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, **{kind: c.to_json() for kind, c in self.parts()}}

    def lines(self) -> list[str]:
        """A readable listing: `+ rules welcome.new_user`, `- tags user.age`, `~ scenes home`."""
        out: list[str] = []
        for kind, changes in self.parts():
            out.extend(f"+ {kind} {name}" for name in changes.added)
            out.extend(f"- {kind} {name}" for name in changes.removed)
            out.extend(f"~ {kind} {name}" for name in changes.changed)
        return out


def canonical(decl: n.Decl | n.Block) -> str:
    """A declaration's text in the canonical layout, without comments."""
    return format_module(n.Module("<canonical>", (decl,), (), ""))


def declarations(sources: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """{kind: {name: canonical text}} for every declaration the files hold. Files with syntax
    errors (only a draft can have them) contribute what the parser recovered."""
    found: dict[str, dict[str, str]] = {kind: {} for kind in _kinds()}
    for file in sorted(sources):
        module, _ = parse(sources[file], file)
        if module is None:
            continue
        for decl in module.decls:
            if isinstance(decl, n.TagDecl):
                found["tags"][decl.path] = canonical(decl)
            elif isinstance(decl, n.ConditionDecl):
                found["conditions"][decl.name] = canonical(decl)
            elif isinstance(decl, n.EffectDecl):
                found["effects"][decl.name] = canonical(decl)
            elif decl.kind in _BLOCK_KINDS:
                _block(decl, found)
    return found


def _block(block: n.Block, found: dict[str, dict[str, str]]) -> None:
    if block.kind == "strategy":
        for rule in block.blocks("rule"):
            found["rules"][f"{block.name}.{rule.name}"] = canonical(rule)
        own = tuple(i for i in block.items if not (isinstance(i, n.Block) and i.kind == "rule"))
        block = n.Block(block.kind, block.name, own, block.span, block.name_span, block.quoted_name)
    found[_BLOCK_KINDS[block.kind]][block.name] = canonical(block)


def _kinds() -> tuple[str, ...]:
    return tuple(f.name for f in fields(RulesetDiff) if f.name not in ("a", "b"))


def diff_sources(
    old: Mapping[str, str], new: Mapping[str, str], *, a: int | None = None, b: int | None = None
) -> RulesetDiff:
    before, after = declarations(old), declarations(new)
    parts: dict[str, Changes] = {}
    for kind in _kinds():
        was, now = before[kind], after[kind]
        parts[kind] = Changes(
            added=tuple(sorted(now.keys() - was.keys())),
            removed=tuple(sorted(was.keys() - now.keys())),
            changed=tuple(sorted(k for k in was.keys() & now.keys() if was[k] != now[k])),
        )
    return RulesetDiff(a=a, b=b, **parts)
