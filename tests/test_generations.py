"""Generations read from real model ids (the official orgs' names in the sample) and architectures, per family."""

from __future__ import annotations

import pytest

from analysis.generations import generation_name
from crawler.families import get_family, load_families


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
    assert generation_name("meta-llama/Llama-3-8B", "llama") is None  # not a generation of the default family


@pytest.mark.parametrize(("family", "model_id", "generation"), [
    ("llama", "meta-llama/Meta-Llama-3-8B-Instruct", "Llama-3"), ("llama", "meta-llama/Llama-2-7b-chat-hf", "Llama-2"),
    ("mistral", "mistralai/Mixtral-8x7B-Instruct-v0.1", "Mixtral"), ("mistral", "mistralai/Mistral-7B-v0.3", "Mistral-7B"),
    ("gemma", "google/gemma-2-9b-it", "Gemma-2"), ("gemma", "google/gemma-1.1-7b-it", "Gemma"),
    ("gemma", "google/paligemma-3b-mix-224", "PaliGemma"), ("deepseek", "deepseek-ai/deepseek-coder-6.7b-instruct",
                                                            "DeepSeek-Coder"),
    ("phi", "microsoft/Phi-3-mini-4k-instruct", "Phi-3"), ("phi", "microsoft/phi-1_5", "Phi-1.5"),
    ("phi", "microsoft/phi-2", "Phi-2"),
])
def test_other_families_read_their_own_generations(family: str, model_id: str, generation: str) -> None:
    assert generation_name(model_id, family=get_family(family)) == generation
    assert generation_name(model_id) is None  # the ids of the sample's other families name no Qwen generation


def test_table_rows_are_well_formed() -> None:
    for family in load_families().values():
        assert all(len(row) == 2 and row[0] and row[1] for row in family.generations)
