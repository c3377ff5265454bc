"""Pausing Python's cyclic garbage collector while a rule set is parsed, checked or compiled.

Those stages allocate hundreds of thousands of small objects that all stay alive, which makes
the collector run again and again for nothing (a large share of the time on a 1,000-rule
file). Reference counting still frees everything; the collector resumes afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
