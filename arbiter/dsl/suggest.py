"""Did-you-mean suggestions for names an operator misspelt."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


def suggest(word: str, candidates: Sequence[str]) -> list[str]:
    """Up to three close candidates: at least 60% alike, and none far behind the best one
    (so `stratgy` suggests `strategy`, not also `tag`)."""
    scored = []
    for candidate in candidates:
        matcher = difflib.SequenceMatcher(None, word, candidate)
        if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6:
            ratio = matcher.ratio()
            if ratio >= 0.6:
                scored.append((ratio, candidate))
    if not scored:
        return []
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    best = scored[0][0]
    return [candidate for ratio, candidate in scored[:3] if ratio >= best - 0.15]


def did_you_mean(word: str, candidates: Sequence[str], *, quote: str = "`") -> str | None:
    close = suggest(word, candidates)
    if not close:
        return None
    return "did you mean " + " or ".join(f"{quote}{c}{quote}" for c in close) + "?"
