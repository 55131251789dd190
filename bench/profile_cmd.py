"""Profile any ``hubtree`` command with py-spy: top functions by self and inclusive share of CPU samples.

    python bench/profile_cmd.py --name licenses-1m -- analyze licenses --db sqlite:////tmp/bench-store-1m.db --json

Writes ``bench/results/profile-<name>.json`` (the crawl has its own script, bench/profile_crawl.py, which also
starts the simulator). Needs ``pip install py-spy``.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from common import RESULTS, hubtree_cmd, save
from profile_crawl import fold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- followed by the hubtree arguments")
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        subprocess.run(["py-spy", "record", "--format", "raw", "--rate", "50", "--nonblocking", "--function",
                        "--output", str(raw), "--", *hubtree_cmd(*command)], check=True, capture_output=True)
        total, own, incl = fold(raw)["main"]

    def share(counter: dict) -> list[dict]:
        return [{"frame": f, "share": round(n / total, 4)} for f, n in counter.most_common(args.top)]

    RESULTS.mkdir(exist_ok=True)
    save("profile", args.name, {"command": command, "samples": total, "self": share(own), "inclusive": share(incl)})


if __name__ == "__main__":
    main()
