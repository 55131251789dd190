"""Profile the HF sweep with py-spy: where the crawler's CPU goes, by function (self and inclusive share).

    python bench/profile_crawl.py --scale 200k [--top 25] [--cards family]

Samples every thread of ``hubtree crawl hf --cards none`` (simulator latency 0, in its own process) and of its page
writer process with ``py-spy record --format raw --nonblocking --subprocesses --function`` (idle frames dropped),
then folds the stacks of each process into ``bench/results/profile-crawl-<scale>.json``: its samples (100 a second
of busy time) and its top functions by self time and by inclusive time.
Needs ``pip install py-spy``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from common import add_scale_argument, db_path, hubtree_cmd, save, simulator, world_dir

_PROCESS = re.compile(r'process \d+:"[^"]*";?')  # py-spy --subprocesses: a stack's processes, outermost first


def fold(raw: Path) -> dict[str, tuple[int, Counter[str], Counter[str]]]:
    """Per process (``main``, the command's, or the crawl's ``page_writer``): total samples, self samples per
    frame and inclusive samples per frame from py-spy's collapsed stacks."""
    out: dict[str, tuple[int, Counter[str], Counter[str]]] = {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        role = "page_writer" if "page_writer import serve" in stack else "main"
        frames = [f for f in _PROCESS.sub("", stack).split(";") if f and not f.startswith("thread ")]
        if not frames:
            continue
        n = int(count)
        total, own, incl = out.get(role, (0, Counter(), Counter()))
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
        out[role] = (total + n, own, incl)
    return out


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
        cmd = ["py-spy", "record", "--format", "raw", "--rate", "100", "--nonblocking", "--subprocesses", "--function",
               "--output", str(raw), "--",
               *hubtree_cmd("crawl", "hf", "--endpoint", sim.url, "--db", f"sqlite:///{db}", "--json", "--cards",
                            args.cards, "--progress", "none")]
        subprocess.run(cmd, check=True, capture_output=True)
        folded = fold(raw)

    def share(counter: Counter[str], total: int) -> list[dict]:
        return [{"frame": f, "share": round(n / total, 4)} for f, n in counter.most_common(args.top)]

    name = "profile-crawl" if args.cards == "none" else f"profile-crawl-cards-{args.cards}"
    save(name, args.scale, {"world": str(world), "cards": args.cards, "rate_hz": 100,
                            "processes": {role: {"samples": total, "self": share(own, total),
                                                 "inclusive": share(incl, total)}
                                          for role, (total, own, incl) in folded.items()}})


if __name__ == "__main__":
    main()
