"""Generations read from model ids, by the family's table (``generations`` in crawler/families.toml).

Each family lists ``[label, regex]`` rows, first match wins, so a new generation is one row in the table (more
specific lines such as ``Qwen3-VL`` go before the plain generation they belong to). Matching is
case-insensitive on the repo name (the part after the ``/``), so ``Qwen/Qwen2.5-Coder-7B`` and
``bartowski/Qwen2.5-Coder-7B-GGUF`` both read as ``Qwen2.5-Coder``.
"""

from __future__ import annotations

from crawler.families import Family, default_family


def generation_name(model_id: str, architecture: str | None = None, family: Family | None = None) -> str | None:
    """The generation label of an id in ``family`` (default: the default family), else what the architecture
    implies, else None."""
    return (family or default_family()).generation(model_id, architecture)
