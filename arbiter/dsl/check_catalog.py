"""Checking the catalog: tag declarations (types, attributes, defaults, scopes) and effect
declarations (typed fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arbiter.dsl import nodes as n
from arbiter.dsl import types as t
from arbiter.dsl.check_attrs import AttributeReader, literal_value
from arbiter.dsl.model import (
    MISSING,
    Effect,
    Scene,
    Tag,
)
from arbiter.dsl.schema import NAMESPACES, TAG_ATTRS
from arbiter.dsl.suggest import did_you_mean
from arbiter.errors import ArbiterError


class CatalogChecker(AttributeReader):
    def resolve_type(self, te: n.TypeExpr) -> t.Type:
        name, args = te.name, te.args
        if name in t.SCALARS:
            if args is not None:
                self.error("dsl.type.unknown", f"type `{name}` takes no arguments", te.span)
            return t.SCALARS[name]
        if name == "money":
            if not args:
                return t.money("CNY")
            arg = args[0]
            if len(args) == 1 and isinstance(arg.value, n.TypeExpr) and arg.name is None:
                code = arg.value.name
                if len(code) == 3 and code.isupper():
                    return t.money(code)
            self.error("dsl.type.unknown", "money takes a currency code, e.g. money(USD)", te.span)
            return t.UNKNOWN
        if name == "enum":
            values = tuple(a.value for a in (args or ()) if isinstance(a.value, str))
            if not values or len(values) != len(args or ()):
                self.error("dsl.type.unknown", 'enum takes its values as strings, e.g. enum("male", "female")', te.span)
                return t.UNKNOWN
            if len(set(values)) != len(values):
                self.error("dsl.type.unknown", "an enum value is listed twice", te.span)
            return t.enum(values)
        if name == "list":
            if not args:
                self.error("dsl.type.unknown", "list takes its fields, e.g. list(sku: string, quantity: int)", te.span)
                return t.UNKNOWN
            if len(args) == 1 and args[0].name is None and isinstance(args[0].value, n.TypeExpr):
                return t.list_of(self.resolve_type(args[0].value))
            fields: list[tuple[str, t.Type]] = []
            for arg in args:
                if arg.name is None or not isinstance(arg.value, n.TypeExpr):
                    self.error("dsl.type.unknown", "each field of a list is `name: type`", arg.span)
                    continue
                if any(k == arg.name for k, _ in fields):
                    self.error("dsl.name.duplicate", f"field `{arg.name}` is declared twice", arg.span)
                    continue
                fields.append((arg.name, self.resolve_type(arg.value)))
            return t.list_of(t.record(tuple(fields)))
        self.error(
            "dsl.type.unknown",
            f"unknown type `{name}`",
            te.span,
            did_you_mean(name, t.TYPE_NAMES) or "types: " + ", ".join(t.TYPE_NAMES),
        )
        return t.UNKNOWN

    def _tags(self, decls: list[n.TagDecl]) -> dict[str, Tag]:
        tags: dict[str, Tag] = {}
        first: dict[str, n.TagDecl] = {}
        for decl in decls:
            if decl.namespace not in NAMESPACES:
                self.error(
                    "dsl.tag.namespace",
                    f"unknown tag namespace `{decl.namespace}`",
                    decl.name_span,
                    did_you_mean(decl.namespace, NAMESPACES) or "namespaces: " + ", ".join(NAMESPACES),
                )
                continue
            if decl.path in first:
                self.duplicate("tag", decl.path, decl.name_span, first[decl.path].name_span)
                continue
            first[decl.path] = decl
            type_ = self.resolve_type(decl.type)
            attrs = self.attrs(f"tag `{decl.path}`", decl.attrs, TAG_ATTRS, decl.name_span)
            get = {k: v[0] for k, v in attrs.items()}
            default: Any = MISSING
            if "default" in get:
                default = self._tag_default(decl.path, type_, get["default"])
            scope = None
            if "scope" in get:
                scope = frozenset(name for name, _ in self.names(get["scope"]))
            tags[decl.path] = Tag(
                namespace=decl.namespace,
                name=decl.name,
                type=type_,
                display=(self.string(get["display"]) if "display" in get else None) or decl.path,
                category=(self.string(get["category"]) if "category" in get else None) or "",
                source=(self.symbol(get["source"], TAG_ATTRS["source"].choices) if "source" in get else None) or "api",
                scope=scope,
                status=(self.symbol(get["status"], TAG_ATTRS["status"].choices) if "status" in get else None) or "active",
                default=default,
                description=(self.string(get["description"]) if "description" in get else None) or "",
                span=decl.span,
            )
        return tags

    def _tag_default(self, path: str, type_: t.Type, attr: n.Attr) -> Any:
        value = literal_value(attr.value)
        if value is MISSING:
            self.error("dsl.attr.invalid", f"the default of `{path}` must be a literal value", attr.value.span)
            return MISSING
        try:
            return t.coerce(value, type_, f"the default of {path}")
        except ArbiterError as exc:
            self.error("dsl.type.mismatch", str(exc), attr.value.span)
            return MISSING

    def _effects(self, decls: list[n.EffectDecl]) -> dict[str, Effect]:
        effects: dict[str, Effect] = {}
        for decl in decls:
            if decl.name in effects:
                self.duplicate("effect", decl.name, decl.name_span, effects[decl.name].span)
                continue
            params: list[tuple[str, t.Type]] = []
            for param in decl.params:
                if any(k == param.name for k, _ in params):
                    self.error("dsl.name.duplicate", f"field `{param.name}` is declared twice", param.span)
                    continue
                params.append((param.name, self.resolve_type(param.type)))
            effects[decl.name] = Effect(decl.name, tuple(params), decl.name_span)
        return effects

    # ------------------------------------------------------------------ scenes and strategies

    def _check_tag_scopes(self, tags: Mapping[str, Tag], scenes: Mapping[str, Scene], decls: list[n.TagDecl]) -> None:
        for decl in decls:
            for attr in decl.attrs:
                if attr.key != "scope" or decl.path not in tags:
                    continue
                for name, span in self.names(attr):
                    if name not in scenes:
                        self.error("dsl.name.unknown", f"unknown scene `{name}` in the scope of `{decl.path}`", span,
                                   did_you_mean(name, sorted(scenes)) or "scenes: " + ", ".join(sorted(scenes)))

    # ------------------------------------------------------------------ experiments, promotions, tests
