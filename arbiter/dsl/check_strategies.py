"""Checking scenes and strategies: what a scene reads and returns, each rule's condition and
effects, hit policies and score bands, rules that can never fire, tags read outside their
scope, and each scene's default strategy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl import types as t
from arbiter.dsl.check_catalog import CatalogChecker
from arbiter.dsl.exprcheck import Read
from arbiter.dsl.model import (
    Band,
    Rule,
    Scene,
    Strategy,
)
from arbiter.dsl.schema import BLOCKS
from arbiter.dsl.suggest import did_you_mean


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


class StrategyChecker(CatalogChecker):
    _scene_strategy_spans: dict[str, n.Span]

    def effect_list(self, attrs: Sequence[n.Attr], where: str) -> list[tuple[n.Call, tuple[Read, ...]]]:
        out: list[tuple[n.Call, tuple[Read, ...]]] = []
        for attr in attrs:
            calls = attr.value.items if isinstance(attr.value, n.ListLit) else (attr.value,)
            for call in calls:
                effect, reads = self.ex.check_effect(call, f"`{where}`")
                if effect is not None and isinstance(call, n.Call):
                    out.append((call, reads))
        return out

    # ------------------------------------------------------------------ tags and effects

    def check_reads(self, reads: Iterable[Read], scene: Scene | None) -> None:
        if scene is None:
            return
        reported: set[tuple[str, n.Span]] = set()
        for read in reads:
            tag = read.tag
            key = (tag.path, read.span)
            if key in reported:
                continue
            through = f" (through condition `{read.via}`)" if read.via else ""
            if tag.scope is not None and scene.name not in tag.scope:
                reported.add(key)
                self.error(
                    "dsl.tag.scope",
                    f"tag `{tag.path}` may not be read in scene `{scene.name}`{through}",
                    read.span,
                    f"its scope: {', '.join(sorted(tag.scope))}",
                )
            elif not scene.may_read(tag):
                reported.add(key)
                self.error(
                    "dsl.tag.scope",
                    f"scene `{scene.name}` does not read `{tag.path}`{through}",
                    read.span,
                    f"the scene reads: {', '.join(sorted(scene.readable or ()))}",
                )

    def _scenes(self, blocks: list[n.Block]) -> dict[str, Scene]:
        scenes: dict[str, Scene] = {}
        spec = BLOCKS["scene"]
        for block in blocks:
            found = self.block_attrs(block, spec)
            get = {k: v[0] for k, v in found.items()}
            readable = None
            if "tags" in get:
                readable = set()
                for name, span in self.names(get["tags"]):
                    if name not in self.ex.namespaces and name not in self.tags:
                        self.error("dsl.tag.unknown", f"scene `{block.name}` lists unknown tag or namespace `{name}`", span,
                                   did_you_mean(name, sorted({*self.ex.namespaces, *self.tags})))
                    readable.add(name)
            effect_types = None
            if "effects" in get:
                effect_types = set()
                for name, span in self.names(get["effects"]):
                    if name not in self.effects:
                        self.error("dsl.effect.unknown", f"unknown effect `{name}`", span, did_you_mean(name, sorted(self.effects)))
                    effect_types.add(name)
            fallback = self.effect_list(found.get("fallback", []), "fallback")
            for _call, reads in fallback:
                if reads:
                    self.error("dsl.scene.fallback", "a fallback effect cannot read tags: it is used when evaluation fails", reads[0].span)
            on_failure = (self.symbol(get["on_failure"], ("open", "closed")) if "on_failure" in get else None) or "closed"
            strategy_attr = get.get("strategy")
            scenes[block.name] = Scene(
                name=block.name,
                display=(self.string(get["display"]) if "display" in get else None) or block.name,
                access=(self.symbol(get["access"], ("api", "embedded", "both")) if "access" in get else None) or "both",
                clients=frozenset(nm for nm, _ in self.names(get["clients"])) if "clients" in get else None,
                readable=frozenset(readable) if readable is not None else None,
                effect_types=frozenset(effect_types) if effect_types is not None else None,
                on_failure=on_failure,
                fallback=tuple(c for c, _ in fallback),
                strategy=strategy_attr.value.dotted if strategy_attr and isinstance(strategy_attr.value, n.Name) else None,
                span=block.span,
            )
            self._scene_strategy_spans[block.name] = strategy_attr.value.span if strategy_attr else block.name_span
        return scenes

    def _strategies(self, blocks: list[n.Block], scenes: Mapping[str, Scene]) -> dict[str, Strategy]:
        strategies: dict[str, Strategy] = {}
        for block in blocks:
            found = self.block_attrs(block, BLOCKS["strategy"])
            get = {k: v[0] for k, v in found.items()}
            scene_name = self.ref(get["scene"], "scene", scenes) if "scene" in get else None
            scene = scenes.get(scene_name) if scene_name else None
            hit = (self.symbol(get["hit"], BLOCKS["strategy"].attrs["hit"].choices) if "hit" in get else None) or "first"
            rules = [self._rule(block.name, r, scene, hit) for r in self._unique("rule", list(block.blocks("rule")))]
            ordered = sorted((r for r in rules if r is not None), key=lambda r: (-r.priority, r.name))
            bands = self._bands(block, scene, hit)
            if hit == "first":
                self._unreachable(ordered)
            strategies[block.name] = Strategy(
                name=block.name,
                scene=scene_name or "",
                hit=hit,
                rules=tuple(ordered),
                bands=tuple(bands),
                display=(self.string(get["display"]) if "display" in get else None) or block.name,
                span=block.span,
            )
        return strategies

    def _rule(self, strategy: str, block: n.Block, scene: Scene | None, hit: str) -> Rule | None:
        found = self.block_attrs(block, BLOCKS["rule"])
        get = {k: v[0] for k, v in found.items()}
        when = get["when"].value if "when" in get else None
        if when is not None:
            _, reads = self.ex.check(when, t.BOOL, f"the `when` of rule `{block.name}`")
            self.check_reads(reads, scene)
        effects = self.effect_list(found.get("then", []), "then")
        for call, reads in effects:
            self.check_reads(reads, scene)
            if scene is not None and scene.effect_types is not None and call.name not in scene.effect_types:
                self.error("dsl.scene.effect", f"scene `{scene.name}` does not return `{call.name}` effects", call.name_span,
                           f"it returns: {', '.join(sorted(scene.effect_types))}")
        score = self.integer(get["score"]) if "score" in get else None
        if hit == "score" and score is None:
            self.error("dsl.attr.missing", f"rule `{block.name}` needs `score` in a score strategy", block.name_span)
        if hit != "score" and "score" in get:
            self.error("dsl.attr.invalid", "`score` counts only in a strategy with `hit score`", get["score"].key_span)
        if hit != "score" and not effects and "then" not in found:
            self.error("dsl.attr.missing", f"rule `{block.name}` needs `then`", block.name_span, "the effect it returns when it matches")
        return Rule(
            name=block.name,
            strategy=strategy,
            priority=(self.integer(get["priority"]) if "priority" in get else None) or 0,
            group=self.string(get["group"]) if "group" in get else None,
            when=when,
            effects=tuple(c for c, _ in effects),
            score=score,
            display=(self.string(get["display"]) if "display" in get else None) or block.name,
            span=block.span,
        )

    def _bands(self, block: n.Block, scene: Scene | None, hit: str) -> list[Band]:
        bands: list[Band] = []
        band_blocks = self._unique("band", list(block.blocks("band")))
        if hit != "score":
            for b in band_blocks:
                self.error("dsl.attr.invalid", "bands belong to a strategy with `hit score`", b.name_span)
            return bands
        if not band_blocks:
            self.error("dsl.attr.missing", f"strategy `{block.name}` needs at least one `band`", block.name_span,
                       "e.g. band low { from 0 then pass() }")
        floors: dict[int, str] = {}
        for b in band_blocks:
            found = self.block_attrs(b, BLOCKS["band"])
            floor = self.integer(found["from"][0]) if "from" in found else None
            if floor is None:
                continue
            if floor in floors:
                self.error("dsl.name.duplicate", f"bands `{floors[floor]}` and `{b.name}` both start at {floor}", b.name_span)
                continue
            floors[floor] = b.name
            effects = self.effect_list(found.get("then", []), "then")
            for _, reads in effects:
                self.check_reads(reads, scene)
            bands.append(Band(b.name, floor, tuple(c for c, _ in effects), b.span))
        return sorted(bands, key=lambda band: band.floor)

    def always_true(self, expr: n.Expr | None, seen: frozenset[str] = frozenset()) -> bool:
        if expr is None:
            return True
        match expr:
            case n.BoolLit():
                return expr.value
            case n.BoolOp(op="or"):
                return any(self.always_true(o, seen) for o in expr.operands)
            case n.BoolOp(op="and"):
                return all(self.always_true(o, seen) for o in expr.operands)
            case n.Name(parts=(name,)) if name in self.conditions and name not in seen:
                return self.always_true(self.conditions[name].expr, seen | {name})
        return False

    def _unreachable(self, rules: Sequence[Rule]) -> None:
        for index, rule in enumerate(rules):
            if self.always_true(rule.when):
                for later in rules[index + 1 :]:
                    self.error(
                        "dsl.rule.unreachable",
                        f"rule `{later.name}` can never fire: rule `{rule.name}` (priority {rule.priority}) comes first and always matches",
                        later.span if later.span.line == later.span.end_line else n.Span(later.span.file, later.span.line, later.span.column, later.span.line, later.span.column + 4 + len(later.name) + 1),
                        f"in a `first` strategy the highest-priority match wins: lower the priority of `{rule.name}` or narrow it with a `when`",
                    )
                return

    def _resolve_default_strategies(self, scenes: dict[str, Scene], strategies: Mapping[str, Strategy]) -> dict[str, Scene]:
        resolved: dict[str, Scene] = {}
        for name, scene in scenes.items():
            own = sorted(s.name for s in strategies.values() if s.scene == name)
            default = scene.strategy
            span = self._scene_strategy_spans.get(name, scene.span)
            if default is not None:
                if default not in strategies:
                    self.error("dsl.name.unknown", f"unknown strategy `{default}`", span, did_you_mean(default, sorted(strategies)))
                    default = None
                elif strategies[default].scene != name:
                    self.error("dsl.scene.strategy", f"strategy `{default}` serves scene `{strategies[default].scene}`, not `{name}`", span)
                    default = None
            elif len(own) == 1:
                default = own[0]
            elif len(own) > 1:
                self.error("dsl.scene.strategy", f"scene `{name}` has several strategies; name the default one with `strategy`", span,
                           "its strategies: " + ", ".join(own))
            resolved[name] = Scene(**{**_fields(scene), "strategy": default})
        return resolved
