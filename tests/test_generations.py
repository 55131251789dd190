"""Qwen generations read from real model ids (the official org's names in the sample) and architectures."""

from __future__ import annotations

import pytest

from analysis.generations import GENERATIONS, generation_name


@pytest.mark.parametrize(("model_id", "generation"), [
    ("Qwen/Qwen-7B-Chat", "Qwen"), ("Qwen/Qwen-VL-Chat", "Qwen-VL"), ("Qwen/Qwen1.5-7B", "Qwen1.5"),
    ("Qwen/Qwen1.5-MoE-A2.7B", "Qwen1.5-MoE"), ("Qwen/CodeQwen1.5-7B-Chat", "CodeQwen1.5"),
    ("Qwen/Qwen2-7B-Instruct", "Qwen2"), ("Qwen/Qwen2-57B-A14B", "Qwen2-MoE"), ("Qwen/Qwen2-VL-7B-Instruct", "Qwen2-VL"),
    ("Qwen/Qwen2-Audio-7B", "Qwen2-Audio"), ("Qwen/Qwen2.5-7B", "Qwen2.5"), ("Qwen/Qwen2.5-Coder-7B", "Qwen2.5-Coder"),
    ("Qwen/Qwen2.5-Math-72B", "Qwen2.5-Math"), ("Qwen/Qwen2.5-VL-7B-Instruct", "Qwen2.5-VL"),
    ("Qwen/QwQ-32B-Preview", "QwQ"), ("Qwen/QVQ-72B-Preview", "QVQ"), ("Qwen/Qwen3-8B", "Qwen3"),
    ("Qwen/Qwen3-30B-A3B", "Qwen3"), ("Qwen/Qwen3-VL-8B-Instruct", "Qwen3-VL"), ("Qwen/Qwen3.5-9B", "Qwen3.5"),
    ("bartowski/Qwen2.5-Coder-7B-Instruct-GGUF", "Qwen2.5-Coder"), ("silent666/Qwen-Qwen1.5-1.8B-1719348577", "Qwen1.5"),
])
def test_generation_from_id(model_id: str, generation: str) -> None:
    assert generation_name(model_id) == generation


def test_architecture_fallback_and_no_false_match() -> None:
    assert generation_name("someone/my-model", "qwen3") == "Qwen3"
    assert generation_name("someone/my-model", "qwen2") == "Qwen2-architecture"  # Qwen1.5/2/2.5 share it
    assert generation_name("vidore/colqwen2-v0.1") is None  # "qwen" inside a word is not a generation
    assert generation_name("meta-llama/Llama-3-8B", "llama") is None


def test_table_rows_are_well_formed() -> None:
    assert all(len(row) == 3 and row[2] for row in GENERATIONS)
