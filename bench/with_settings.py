"""Run ``hubtree`` with extra Scrapy settings: experiments behind docs/PERFORMANCE.md, not a product feature.

    python bench/with_settings.py CONCURRENT_ITEMS=1 -- crawl hf --endpoint URL --db URL --json

Values are read as JSON when they parse (numbers, booleans), else kept as strings. The settings are merged over
the crawler's own (``crawler.runner._scrapy_settings``) for this one process.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _value(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> None:
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    extra = {k: _value(v) for k, _, v in (a.partition("=") for a in argv[:split])}
    import crawler.runner as runner

    base = runner._scrapy_settings
    runner._scrapy_settings = lambda concurrency, more: {**base(concurrency, more), **extra}
    from hubtree.cli import main as hubtree_main

    sys.argv = ["hubtree", *argv[split + 1 :]]
    hubtree_main()


if __name__ == "__main__":
    main()
