"""Profile the HF sweep with py-spy: where the crawler's CPU goes, by function (self and inclusive share).

    python bench/profile_crawl.py --scale 200k [--top 25] [--cards family]

Samples every thread of ``hubtree crawl hf --cards none`` (simulator latency 0, in its own process) with
``py-spy record --format raw --nonblocking --function`` (idle frames dropped), then folds the stacks into
``bench/results/profile-crawl-<scale>.json``: the top functions by self time and by inclusive time.
Needs ``pip install py-spy``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from common import add_scale_argument, db_path, hubtree_cmd, save, simulator, world_dir


def fold(raw: Path) -> tuple[int, Counter[str], Counter[str]]:
    """Total samples, self samples per frame, inclusive samples per frame from py-spy's collapsed stacks."""
    total, own, incl = 0, Counter(), Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    return total, own, incl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--cards", default="none")
    args = ap.parse_args()
    if not shutil.which("py-spy"):
        raise SystemExit("py-spy is not installed: pip install py-spy")
    world = world_dir(args.scale)
    db = db_path(f"profile-{args.scale}")
    with simulator(world, latency_ms=0) as sim, tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "crawl.txt"
        cmd = ["py-spy", "record", "--format", "raw", "--rate", "100", "--nonblocking", "--function", "--output", str(raw), "--",
               *hubtree_cmd("crawl", "hf", "--endpoint", sim.url, "--db", f"sqlite:///{db}", "--json", "--cards",
                            args.cards, "--progress", "none")]
        subprocess.run(cmd, check=True, capture_output=True)
        total, own, incl = fold(raw)

    def share(counter: Counter[str]) -> list[dict]:
        return [{"frame": f, "share": round(n / total, 4)} for f, n in counter.most_common(args.top)]

    name = "profile-crawl" if args.cards == "none" else f"profile-crawl-cards-{args.cards}"
    save(name, args.scale, {"world": str(world), "cards": args.cards, "samples": total,
                                       "self": share(own), "inclusive": share(incl)})


if __name__ == "__main__":
    main()
