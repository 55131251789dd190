"""Print the headline figures of bench/results/*.json as Markdown rows, next to the budget (for docs/PERFORMANCE.md).

    python bench/summarize.py
"""

from __future__ import annotations

import json
from typing import Any

from common import RESULTS


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def crawl_rows(scale: str) -> list[str]:
    doc = _load(f"crawl-{scale}")
    if not doc:
        return []
    rows = []
    for name, s in doc["sweeps"].items():
        t, c = s["time"], s["calls"]
        rows.append(_row(f"sweep {scale} {name}", f"{c['api']} calls / optimum {c['optimum']} = "
                         f"{c['api_vs_optimum']}", f"wall {t['wall_s']} s ({t['wall_per_1k_s']} s/1k, "
                         f"{t['records_per_s_wall']} rec/s)", f"CPU {t['cpu_s']} s ({t['cpu_per_1k_s']} s/1k, "
                         f"{t['records_per_s_cpu']} rec/s)", f"RSS {t['max_rss_mb']} MB", f"sim CPU {s['sim_cpu_s']} s",
                         f"load {t['load_before'][0]}"))
    if "cards_phase" in doc:
        p = doc["cards_phase"]
        rows.append(_row(f"cards phase {scale}", f"{p['card_calls']} card calls for {p['family_and_roots']} family "
                         "models + roots", f"wall +{p.get('cards_phase_wall_s')} s", f"CPU +{p.get('cards_phase_cpu_s')} s",
                         f"RSS {p['with_cards']['time']['max_rss_mb']} MB", "", ""))
    return rows


def main() -> None:
    for scale in ("200k", "1m"):
        for line in crawl_rows(scale):
            print(line)
        for name in ("bfs", "faults", "ingest", "graph", "analysis", "serve"):
            doc = _load(f"{name}-{scale}")
            if doc:
                doc.pop("machine", None)
                print(f"{name}-{scale}: {json.dumps(doc)[:1500]}")


if __name__ == "__main__":
    main()
