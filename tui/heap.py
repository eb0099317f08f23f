"""The collector's permanent generation for a long-lived process (the TUI, `relayboard headless`).

A full collection scans every tracked object; after start-up that is ~120,000 of them from the imported modules
alone, 80-100 ms each time: a visible stall in the focus view (benchmarks/focus.py). Frozen objects are skipped.
"""

from __future__ import annotations

import gc


def freeze_heap() -> None:
    """Collect first: garbage frozen is never finalised, and a cursor in a reference cycle that is never finalised
    keeps its SQLite statement (and read lock) open for good."""
    gc.collect()
    gc.freeze()
