"""Time spent in CPython's cyclic garbage collector during any ``hubtree`` command, per generation.

    python bench/gc_time.py -- report --db sqlite:////tmp/bench-store-1m.db --month latest --out /tmp/r
    PYTHONPATH=DIR python -P bench/gc_time.py -- …     # another checkout (the before of a change)

Runs the command in this interpreter with a ``gc.callbacks`` timer and prints, on stderr after the command's own
output, the collections of each generation and the seconds they took (docs/PERFORMANCE.md, "The garbage collector's
schedule"). The timer's own cost is a few microseconds a collection.
"""

from __future__ import annotations

import atexit
import gc
import runpy
import sys
import time
from typing import Any

collections = [0, 0, 0]
seconds = [0.0, 0.0, 0.0]
_started = [0.0]


def _timer(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
    else:
        generation = info["generation"]
        collections[generation] += 1
        seconds[generation] += time.perf_counter() - _started[0]


def _report() -> None:
    rows = ", ".join(f"generation {g}: {collections[g]} in {seconds[g]:.2f} s" for g in range(3))
    print(f"gc: {rows}; total {sum(seconds):.2f} s", file=sys.stderr)


def main() -> None:
    args = sys.argv[1:]
    sys.argv = ["hubtree", *(args[1:] if args[:1] == ["--"] else args)]
    gc.callbacks.append(_timer)
    atexit.register(_report)  # the command exits through SystemExit
    runpy.run_module("hubtree.cli", run_name="__main__")


if __name__ == "__main__":
    main()
