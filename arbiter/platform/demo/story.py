"""A narrated flow: each step's title and figures, printed as it happens and kept for tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Story:
    title: str
    say: Callable[[str], None] = lambda _text: None
    steps: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.say(f"\n== {self.title}")

    def step(self, title: str, **figures: Any) -> None:
        self.steps.append((title, figures))
        shown = ", ".join(f"{k}={v}" for k, v in figures.items())
        self.say(f"  - {title}" + (f": {shown}" if shown else ""))

    def figures(self, title: str) -> dict[str, Any]:
        """The figures of the first step called `title`."""
        for name, figures in self.steps:
            if name == title:
                return figures
        raise KeyError(title)
