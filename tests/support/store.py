"""Store helpers for tests: run the real CLI in a subprocess, and dump a store for equality checks."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from crawler.store import open_store
from crawler.store.schema import Card, Edge, MetricSnapshot, Model, Quarantine

#: Columns that legitimately differ between two runs that saw the same data (times of fetching, run ids).
VOLATILE = {"fetched_at", "seen_at", "run_id", "first_seen_run", "last_seen_run", "deleted_at", "key"}


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str

    @property
    def summary(self) -> dict[str, Any]:
        """The last JSON object printed on stdout (``--json``)."""
        lines = [ln for ln in self.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            raise AssertionError(f"no JSON on stdout (exit {self.code}); stderr: {self.stderr[-2000:]}")
        return json.loads(lines[-1])


def hubtree(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> CliRun:
    """Run ``hubtree ARGS`` in a fresh interpreter (Scrapy's reactor runs once per process)."""
    proc = subprocess.run([sys.executable, "-m", "hubtree.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def dump_store(url: str, *, hub: str | None = None) -> dict[str, list[tuple]]:
    """Every data table as sorted tuples, without the columns that vary between equivalent runs."""
    store = open_store(url)
    out: dict[str, list[tuple]] = {}
    with store.engine.connect() as conn:
        for table in (Model, Edge, Card, Quarantine):
            tbl = table.__table__  # type: ignore[attr-defined]
            cols = [c for c in tbl.c if c.name not in VOLATILE]
            q = select(*cols)
            if hub is not None:
                q = q.where(tbl.c.hub == hub)
            rows = [tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v for v in r)
                    for r in conn.execute(q)]
            out[tbl.name] = sorted(rows, key=repr)
        # The metric history names models by key (given in the order pages were written): by hub and id here.
        snap, model = MetricSnapshot.__table__, Model.__table__  # type: ignore[attr-defined]
        q = select(model.c.id, *(c for c in snap.c if c.name not in VOLATILE)).join_from(
            snap, model, (model.c.hub == snap.c.hub) & (model.c.key == snap.c.key))
        if hub is not None:
            q = q.where(snap.c.hub == hub)
        out[snap.name] = sorted((tuple(r) for r in conn.execute(q)), key=repr)
    store.engine.dispose()
    return out


def descendants(edges: Iterable[tuple[str, str]], roots: set[str]) -> set[str]:
    """Everything reachable from ``roots`` over ``(parent, child)`` pairs, roots excluded (plain BFS)."""
    kids: dict[str, set[str]] = defaultdict(set)
    for parent, child in edges:
        kids[parent].add(child)
    seen, queue = set(roots), deque(roots)
    while queue:
        for child in kids.get(queue.popleft(), ()):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen - roots


def crawl_killed_midway(make_cmd: Callable[[int], list[str]], expected_s: float, rng: random.Random) -> int:
    """Start a crawl and SIGKILL it at a random moment before it would end; returns the try that was killed.

    ``make_cmd(try)`` gives the command of each try (use a fresh store per try). The moment is drawn within
    ``expected_s`` (an uninterrupted run's duration); a try that finished before the kill proves nothing, so the
    next one aims earlier.
    """
    for attempt in range(6):
        proc = subprocess.Popen(make_cmd(attempt), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        moment = rng.uniform(0.15, 0.85) * expected_s
        time.sleep(moment)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return attempt
        expected_s = moment
    raise AssertionError("the crawl always finished before it could be killed")


def children_by_base(declared: Iterable[tuple[str, str]], ids: set[str]) -> dict[str, set[str]]:
    """``{parent: children}`` from ``(child, declared base)`` pairs, a base naming a model exactly or, failing that,
    by its one case-insensitive match (the crawler's documented rule, restated independently for tests)."""
    lower = Counter(i.lower() for i in ids)
    by_lower = {i.lower(): i for i in ids if lower[i.lower()] == 1}
    children: dict[str, set[str]] = defaultdict(set)
    for child, base in declared:
        base = base.strip()
        parent = base if base in ids else by_lower.get(base.lower())
        if parent and parent != child:
            children[parent].add(child)
    return children
