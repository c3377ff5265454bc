"""Parsing: rule-file text to a `Module` of frozen nodes, or diagnostics.

The Lark parser is built lazily, once per process, from `grammar.lark` (LALR, positions on).
Its tree is first measured without recursion (an over-deep one is refused before anything
recurses over it), then turned into nodes by `builder.py`; `and`/`or` chains are flat, so long
ones cost no depth. Syntax errors (`syntax_errors.py`) are collected per top-level
declaration: after an error the parser resumes at the next line that starts a declaration, so
one run reports them all.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import (
    LarkError,
    UnexpectedInput,
    VisitError,
)

from arbiter.dsl import nodes as n
from arbiter.dsl.builder import MAX_EXPR_DEPTH, STATE, Builder, ParseState, Refused
from arbiter.dsl.diagnostics import Diagnostic
from arbiter.dsl.syntax_errors import generic, scan_comments, syntax_diagnostic

MAX_FILE_BYTES = 1_000_000


@cache
def _grammar_text() -> str:
    return resources.files("arbiter.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")


@cache
def _lark() -> Lark:
    return Lark(
        _grammar_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        start=["start", "expression"],
    )


def parse(source: str, file: str = "<input>") -> tuple[n.Module | None, list[Diagnostic]]:
    """Parse one file. Returns the module (declarations that parsed) and all syntax problems."""
    size = len(source.encode("utf-8", errors="replace"))
    if size > MAX_FILE_BYTES:
        span = n.Span(file, 1, 1, 1, 2)
        return None, [
            Diagnostic(
                "dsl.limit.file_size",
                f"the file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}",
                span,
                hint="split the rules over several files",
            )
        ]
    comments: list[n.Comment] = []
    try:
        decls = _parse_text(source, file, comments)
        return n.Module(file, tuple(decls), tuple(comments), source), []
    except (UnexpectedInput, Refused, VisitError, LarkError):
        pass
    # Resume at each line that starts a declaration, to report every syntax error.
    decls_all: list[n.Decl] = []
    diagnostics: list[Diagnostic] = []
    comments.clear()
    lines = source.split("\n")
    starts = [i for i, line in enumerate(lines) if _DECL_START.match(line)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(lines))
    for begin, end in zip(starts, starts[1:], strict=False):
        chunk = "\n" * begin + "\n".join(lines[begin:end])
        chunk_comments: list[n.Comment] = []
        try:
            decls_all.extend(_parse_text(chunk, file, chunk_comments))
            comments.extend(chunk_comments)
        except Refused as exc:
            diagnostics.append(exc.diagnostic)
        except VisitError as exc:
            if isinstance(exc.orig_exc, Refused):
                diagnostics.append(exc.orig_exc.diagnostic)
            else:
                diagnostics.append(generic(file, str(exc.orig_exc)))
        except UnexpectedInput as exc:
            diagnostics.append(syntax_diagnostic(exc, file, chunk))
        except LarkError as exc:
            diagnostics.append(generic(file, str(exc)))
    if not diagnostics:  # pragma: no cover - the whole parse failed, so some chunk must too
        diagnostics.append(generic(file, "the file could not be parsed"))
    return n.Module(file, tuple(decls_all), tuple(comments), source), diagnostics


_DECL_START = re.compile(r"^(tag|condition|effect|[^\W\d]\w*\s+([^\W\d]\w*|\"))[\s({:=.]", re.UNICODE)


def parse_expression(text: str, file: str = "<expression>") -> tuple[n.Expr | None, list[Diagnostic]]:
    """Parse one expression on its own, e.g. `user.age >= 18`."""
    if len(text) > MAX_FILE_BYTES:
        return None, [Diagnostic("dsl.limit.file_size", "the expression is too long", n.Span(file, 1, 1, 1, 1))]
    try:
        tree = _lark().parse(text, start="expression")
        _check_depth(tree, file)
        token = STATE.set(ParseState(file))
        try:
            return Builder(visit_tokens=False).transform(tree), []
        finally:
            STATE.reset(token)
    except Refused as exc:
        return None, [exc.diagnostic]
    except VisitError as exc:
        if isinstance(exc.orig_exc, Refused):
            return None, [exc.orig_exc.diagnostic]
        return None, [generic(file, str(exc.orig_exc))]
    except UnexpectedInput as exc:
        return None, [syntax_diagnostic(exc, file, text)]


def _parse_text(text: str, file: str, comments: list[n.Comment]) -> list[n.Decl]:
    tree = _lark().parse(text, start="start")
    _check_depth(tree, file)
    token = STATE.set(ParseState(file))
    try:
        decls = Builder(visit_tokens=False).transform(tree)
    finally:
        STATE.reset(token)
    comments.extend(scan_comments(text))
    return list(decls)


def _check_depth(tree: Tree[Token], file: str) -> None:
    """Refuse over-deep nesting before the (recursive) tree walk meets it."""
    limit = MAX_EXPR_DEPTH + 16  # declarations and blocks add a few levels above expressions
    stack: list[tuple[Tree[Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            meta = node.meta
            line = getattr(meta, "line", 1)
            column = getattr(meta, "column", 1)
            span = n.Span(file, line, column, getattr(meta, "end_line", line), getattr(meta, "end_column", column))
            raise Refused(
                "dsl.limit.depth",
                f"the expression nests deeper than {MAX_EXPR_DEPTH} levels",
                span,
                "split it into named conditions",
            )
        for child in node.children:
            if isinstance(child, Tree):
                stack.append((child, depth + 1))


