"""Syntax errors as diagnostics an operator can act on: what was found, what was expected (in
words, not grammar terminal names), where — for an unfinished declaration, just after its
last code, where the missing `)` or `}` goes — and a hint for the usual slips."""

from __future__ import annotations

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from arbiter.dsl import nodes as n
from arbiter.dsl.diagnostics import Diagnostic

# Friendly names for the grammar's terminals, used in "expected ..." messages.
TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "INT": "a number",
    "DECIMAL": "a number",
    "PERCENT": "a percentage",
    "DURATION": "a duration",
    "DATETIME": "a date",
    "CURRENCY": "a currency code",
    "YUAN": "¥",
    "COMPARE": "a comparison",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COLON": "':'",
    "COMMA": "','",
    "DOT": "'.'",
    "EQUAL": "'='",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "$END": "the end of the file",
}


def scan_comments(text: str) -> list[n.Comment]:
    """Comments are ignored by the grammar; find them for the printer (outside strings)."""
    found: list[n.Comment] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        in_string = False
        escaped = False
        for col, ch in enumerate(line, start=1):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                found.append(n.Comment(line[col - 1 :].rstrip(), lineno, col))
                break
    return found


def generic(file: str, message: str) -> Diagnostic:
    return Diagnostic("dsl.syntax.invalid", message, n.Span(file, 1, 1, 1, 1))


_EXPRESSION_START = {"NAME", "INT", "DECIMAL", "STRING", "LPAR", "LSQB", "MINUS", "DATETIME"}
_ORDER = ["NAME", "STRING", "INT", "DECIMAL", "COMPARE", "RPAR", "RBRACE", "RSQB", "COMMA", "COLON"]


def _describe_expected(expected: set[str] | frozenset[str]) -> str:
    names: list[str] = []
    terms = set(expected)
    if len(terms & _EXPRESSION_START) >= 4:
        names.append("an expression")
        terms -= _EXPRESSION_START | {"PERCENT", "DURATION", "YUAN", "LBRACE", "TRUE", "FALSE",
                                      "ANY", "ALL", "COUNT", "SUM", "MIN", "MAX", "NOT"}
    ordered = sorted(terms, key=lambda t: (_ORDER.index(t) if t in _ORDER else len(_ORDER), t))
    for term in ordered:
        if term in TERMINAL_NAMES:
            label = TERMINAL_NAMES[term]
        elif term.isupper() and term.isalpha() and len(term) > 1:
            label = f"'{term.lower()}'"  # keyword terminals are named after themselves
        else:
            label = term
        if label not in names:
            names.append(label)
    if len(names) > 8:
        names = names[:8] + ["..."]
    return ", ".join(names)


def _end_of_text(text: str) -> tuple[int, int]:
    """Line and column just after the last code character (where a missing `)` goes),
    passing over trailing blank lines and comments."""
    comments = {c.line: c.column for c in scan_comments(text)}
    lines = text.split("\n")
    for index in range(len(lines) - 1, -1, -1):
        code = lines[index]
        if index + 1 in comments:
            code = code[: comments[index + 1] - 1]
        code = code.rstrip()
        if code:
            return index + 1, len(code) + 1
    return 1, 1


def syntax_diagnostic(exc: UnexpectedInput, file: str, text: str = "") -> Diagnostic:
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if line < 1:
        line, column = 1, 1
    if isinstance(exc, UnexpectedToken | UnexpectedEOF) and (
        isinstance(exc, UnexpectedEOF) or exc.token.type == "$END"
    ) and text:
        line, column = _end_of_text(text)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            closers = [c for c in ("RPAR", "RSQB", "RBRACE") if c in exc.expected]
            expected = _describe_expected(set(closers[:1]) if closers else exc.expected)
            return Diagnostic(
                "dsl.syntax.unexpected_end",
                f"the declaration is not finished; expected {expected}",
                n.Span(file, line, column, line, column + 1),
                hint="a declaration is not finished: check for a missing '}' or ')'",
            )
        text = str(token)
        end = column + max(len(text), 1)
        expected = _describe_expected(exc.expected)
        return Diagnostic(
            "dsl.syntax.unexpected_token",
            f"unexpected {text!r}; expected {expected}",
            n.Span(file, line, column, line, end),
            hint=_token_hint(text, exc.expected),
        )
    if isinstance(exc, UnexpectedEOF):
        return Diagnostic(
            "dsl.syntax.unexpected_end",
            f"the declaration is not finished; expected {_describe_expected(set(exc.expected))}",
            n.Span(file, line, column, line, column + 1),
            hint="a declaration is not finished: check for a missing '}' or ')'",
        )
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char
        return Diagnostic(
            "dsl.syntax.unexpected_character",
            f"unexpected character {char!r}",
            n.Span(file, line, column, line, column + 1),
            hint=_char_hint(char),
        )
    return generic(file, str(exc))


def _token_hint(text: str, expected: set[str] | frozenset[str]) -> str | None:
    if text == "=" and "COMPARE" in expected:
        return "to compare, write '==' (one '=' names a condition)"
    if text in {"&&", "&"}:
        return "write 'and'"
    if "RPAR" in expected and len(expected) <= 3:
        return "check that every '(' has its ')'"
    return None


def _char_hint(char: str) -> str | None:
    if char == "'":
        return "strings use double quotes: \"like this\""
    if char in {"&", "|"}:
        return "write 'and' / 'or'"
    if char == "=":
        return "to compare, write '=='"
    if char == "!":
        return "write 'not' or '!='"
    return None
