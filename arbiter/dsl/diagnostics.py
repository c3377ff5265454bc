"""Diagnostics: every problem found in a rule file, with a stable code and a location.

A Diagnostic is a value, never an exception: the parser and the checker collect them all.
`render` prints the form the CLI shows (`file:line:col: error[code]: message`, the source
line, a caret under the span, the hint); `to_json` gives the same fields to the API.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from arbiter.dsl.nodes import Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    severity: Severity = Severity.ERROR
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "hint": self.hint,
        }


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.span.file, d.span.line, d.span.column, d.code)


def render(d: Diagnostic, sources: Mapping[str, str]) -> str:
    """The human form: header, source line with a gutter, caret, hint."""
    lines = [f"{d.span}: {d.severity.value}[{d.code}]: {d.message}"]
    source = sources.get(d.span.file)
    if source is not None and d.span.line >= 1:
        # The parser counts lines at "\n" only; str.splitlines() would also break at U+2028,
        # form feeds and lone carriage returns and show the wrong line.
        text_lines = source.split("\n")
        if d.span.line <= len(text_lines):
            text = text_lines[d.span.line - 1].rstrip("\r").replace("\t", " ")
            start = max(d.span.column, 1)
            if d.span.end_line == d.span.line and d.span.end_column > start:
                end = d.span.end_column
            else:
                end = len(text) + 1
            text, start, end = _window(text, start, end)
            gutter = str(d.span.line)
            pad = " " * len(gutter)
            # Terminals show CJK characters two columns wide: measure, don't count.
            lead = _width(text[: start - 1])
            width = max(_width(text[start - 1 : end - 1]), 1)
            lines.append(f"{pad} |")
            lines.append(f"{gutter} | {text}")
            lines.append(f"{pad} | {' ' * lead}{'^' * width}")
    if d.hint:
        lines.append(f"  = hint: {d.hint}")
    return "\n".join(lines)


_MAX_SHOWN = 120


def _window(text: str, start: int, end: int) -> tuple[str, int, int]:
    """Cut a long source line to a window around the span (1-based columns, end exclusive)."""
    if len(text) <= _MAX_SHOWN:
        return text, start, end
    left = max(start - 40, 0)
    right = min(max(end - 1, start) + 40, len(text), left + _MAX_SHOWN)
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(text) else ""
    shown = prefix + text[left:right] + suffix
    new_start = start - left + len(prefix)
    new_end = min(end - left, right - left + 1) + len(prefix)
    return shown, new_start, max(new_end, new_start + 1)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def render_all(diagnostics: Iterable[Diagnostic], sources: Mapping[str, str]) -> str:
    return "\n\n".join(render(d, sources) for d in diagnostics)


def summary(diagnostics: Iterable[Diagnostic]) -> str:
    items = list(diagnostics)
    errors = sum(1 for d in items if d.is_error)
    warnings = len(items) - errors
    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"
    return f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
