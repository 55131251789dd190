"""Qwen generations from model ids: a table of patterns, first match wins, easy to extend.

When a new generation ships, add one row to :data:`GENERATIONS` (more specific lines such as ``Qwen3-VL`` go
before the plain generation they belong to). Matching is case-insensitive on the repo name (the part after
the ``/``), so ``Qwen/Qwen2.5-Coder-7B`` and ``bartowski/Qwen2.5-Coder-7B-GGUF`` both read as ``Qwen2.5-Coder``.
"""

from __future__ import annotations

import re

#: (generation, line, pattern on the repo name). ``line`` is the product line within a generation
#: (``base``, ``VL``, ``Audio``, ``Coder``, ``Math``, ``Omni``, ``MoE``, ``reasoning``…).
GENERATIONS: tuple[tuple[str, str, str], ...] = (
    ("QwQ", "reasoning", r"\bqwq\b"),
    ("QVQ", "VL", r"\bqvq\b"),
    ("Qwen3.5", "base", r"\bqwen3\.5"),
    ("Qwen3", "Omni", r"\bqwen3-omni"),
    ("Qwen3", "VL", r"\bqwen3-vl"),
    ("Qwen3", "Coder", r"\bqwen3-coder"),
    ("Qwen3", "Next", r"\bqwen3-next"),
    ("Qwen3", "Embedding", r"\bqwen3-(?:embedding|reranker)"),
    ("Qwen3", "base", r"\bqwen3(?![\d.])"),
    ("Qwen2.5", "Omni", r"\bqwen2\.5-omni"),
    ("Qwen2.5", "VL", r"\bqwen2\.5-vl"),
    ("Qwen2.5", "Coder", r"\bqwen2\.5-coder"),
    ("Qwen2.5", "Math", r"\bqwen2\.5-math"),
    ("Qwen2.5", "base", r"\bqwen2\.5(?!\d)"),
    ("Qwen2", "VL", r"\bqwen2-vl"),
    ("Qwen2", "Audio", r"\bqwen2-audio"),
    ("Qwen2", "Math", r"\bqwen2-math"),
    ("Qwen2", "MoE", r"\bqwen2-(?:57b-a14b|moe)"),
    ("Qwen2", "base", r"\bqwen2(?![\d.])"),
    ("Qwen1.5", "MoE", r"\bqwen1\.5-moe"),
    ("Qwen1.5", "base", r"\bqwen1\.5(?!\d)"),
    ("CodeQwen1.5", "Coder", r"\bcodeqwen1\.5"),
    ("Qwen", "VL", r"\bqwen-vl"),
    ("Qwen", "Audio", r"\bqwen-audio"),
    ("Qwen", "base", r"\bqwen(?![\d.])"),
)

_COMPILED = tuple((gen, line, re.compile(pat, re.IGNORECASE)) for gen, line, pat in GENERATIONS)

#: ``config.model_type`` / ``gguf.architecture`` → the generation it implies when the id says nothing.
#: ``qwen2`` is shared by Qwen1.5, Qwen2 and Qwen2.5, so it only says "Qwen2 architecture".
ARCHITECTURE_GENERATION = {
    "qwen": "Qwen",
    "qwen2": "Qwen2-architecture",
    "qwen2_moe": "Qwen2-architecture",
    "qwen2_vl": "Qwen2",
    "qwen2_audio": "Qwen2",
    "qwen2_5_vl": "Qwen2.5",
    "qwen3": "Qwen3",
    "qwen3_moe": "Qwen3",
    "qwen3_vl": "Qwen3",
    "qwen3_vl_moe": "Qwen3",
    "qwen3_next": "Qwen3",
}


def generation_of(model_id: str) -> tuple[str, str] | None:
    """``(generation, line)`` read from a model id, or None when the id names no Qwen generation."""
    name = model_id.rsplit("/", 1)[-1].replace("_", "-")
    for gen, line, pattern in _COMPILED:
        if pattern.search(name):
            return gen, line
    return None


def generation_name(model_id: str, architecture: str | None = None) -> str | None:
    """The generation label (``Qwen2.5``, ``Qwen2.5-VL``, ``QwQ``…) of an id, else what the architecture implies."""
    found = generation_of(model_id)
    if found is not None:
        gen, line = found
        return gen if line in ("base", "reasoning") or gen in ("QVQ", "CodeQwen1.5") else f"{gen}-{line}"
    return ARCHITECTURE_GENERATION.get((architecture or "").lower())
