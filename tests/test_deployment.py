"""Deployment signals: tag-based shares on the real sample, and one constructed model per group."""

from __future__ import annotations

import polars as pl
import pytest

from analysis import frames
from analysis.deployment import (
    ALIBABA,
    CARD_KEYWORDS,
    HF_ENDPOINTS,
    HYPERSCALER,
    LOCAL,
    PROVIDER,
    analyse_deployment,
    card_words,
    model_signals,
    signal_shares,
    signals_of,
)
from analysis.graph import family_members
from crawler.family import resolve_edges
from crawler.ingest import write_page
from crawler.store import Card, Model, Store, open_store
from tests.support.sample import sample_records


def test_tag_shares_match_the_raw_records(sample_store: Store) -> None:
    members = family_members(sample_store, "Qwen")
    report = analyse_deployment(frames.models(sample_store, include_card_data=True), members,
                                frames.edges(sample_store), frames.cards(sample_store))
    ids = set(members["id"])
    raw = [r for r in sample_records() if r["id"] in ids]
    endpoint_tags = {"endpoints_compatible", "text-generation-inference"}
    expected = sum(1 for r in raw if endpoint_tags & set(r["tags"]))
    tag_only = report.signals.filter(pl.col("source") == "tag")
    share = signal_shares(tag_only, report.members).filter(pl.col("group") == HF_ENDPOINTS).row(0, named=True)
    assert (share["with_signal"], share["models"]) == (expected, len(raw))
    assert share["share"] == pytest.approx(expected / len(raw), abs=1e-4)
    gguf = sum(1 for r in raw if "gguf" in r["tags"] or r.get("library_name") == "gguf"
               or any(s.get("rfilename", "").endswith(".gguf") for s in r.get("siblings", [])))
    got = report.signals.filter(pl.col("signal") == "GGUF")["id"].n_unique()
    assert got == gguf > 0
    # region:us is on nearly every record and never a signal
    assert sum(1 for r in raw if "region:us" in r["tags"]) > 0.9 * len(raw)
    assert not report.signals["signal"].str.contains("region").any()
    data = report.to_json()
    assert len(data["models"]) == len(raw)
    assert {s["scope"] for s in data["shares"]} == {"all", "role", "generation", "month"}
    assert any("storage regions" in c for c in data["caveats"])


def test_signals_of_each_group() -> None:
    row = {"tags": ["deploy:azure", "deploy:sagemaker", "endpoints_compatible", "region:eu", "gguf"],
           "library_name": "mlx", "files": ["model-q4_k_m.gguf", "config.json"], "inference": "warm",
           "inference_providers": ["together", "hf-inference"],
           "deploy_flags": {"SupportDeployment": True, "SupportPaiModelGallery": True, "SupportInference": False,
                            "SupportFinetuning": True}}
    card = "Try it on Alibaba Cloud Model Studio (阿里云百炼) via DashScope, or on Vertex AI. ollama run qwen"
    got = signals_of(row, card)
    assert (HYPERSCALER, "Azure (Foundry)", "tag") in got and (HYPERSCALER, "AWS SageMaker", "tag") in got
    assert (HF_ENDPOINTS, "HF Inference Endpoints", "tag") in got
    assert (PROVIDER, "provider:together", "inference") in got and (HF_ENDPOINTS, "HF Inference API", "inference") in got
    assert (LOCAL, "GGUF", "format") in got and (LOCAL, "MLX", "format") in got
    assert got.count((LOCAL, "GGUF", "format")) == 1
    assert (ALIBABA, "ModelScope SwingDeploy", "modelscope") in got and (ALIBABA, "PAI Model Gallery", "modelscope") in got
    assert not any(s == "ModelScope API-Inference" for _, s, _ in got)  # SupportInference is False
    assert {(ALIBABA, "Model Studio", "card"), (ALIBABA, "Bailian", "card"), (ALIBABA, "DashScope", "card"),
            (HYPERSCALER, "Google Vertex AI", "card"), (LOCAL, "Ollama", "card")} <= set(got)
    assert signals_of({"tags": ["region:us", "license:apache-2.0"]}, "Qwen is developed by Alibaba Cloud.") == []


def test_card_words_are_the_keywords_a_substring_test_finds(sample_store: Store) -> None:
    """``card_words`` (one pass over every card) finds the keywords that a substring test of each lower-cased card
    finds, on the sample's real cards and on texts whose keywords overlap, nest or change case; the signals of
    many models at once are each model's own."""
    cards = frames.cards(sample_store)
    texts = [t for t in cards["text"].to_list() if t]
    texts += ["ollama.cpp", "OLLAMA.CPP on LLAMA.CPP", "togethereasgroq", "百炼灵积硅基流动", "Studio\nSTUDIO", "",
              "vllmsglang", "x" * 5000 + "Bedrock"]
    assert len(texts) > 50
    every = {w for words in CARD_KEYWORDS.values() for w in words}
    want = [frozenset(w for w in every if w in t.lower()) for t in texts]
    assert card_words(texts) == want and sum(1 for w in want if w) > 20
    models = frames.models(sample_store, include_card_data=True)
    text_of = {(h, i): t for h, i, t in cards.select("hub", "id", "text").iter_rows() if t}
    one_by_one = [(r["hub"], r["id"], *signal) for r in models.iter_rows(named=True)
                  for signal in signals_of(r, text_of.get((r["hub"], r["id"])))]
    assert model_signals(models, cards).rows() == one_by_one
    assert any(source == "card" for *_, source in one_by_one)
    odd = pl.DataFrame({"hub": ["hf"] * 3, "id": ["a/x", "b/y", "c/z"],
                        "tags": [["GGUF", "gguf", "region:us", "deploy:azure"], [], None],
                        "files": [["m/Model.LLAMAFILE", "x.onnx", "README.md", "q.gguf.txt"], ["Q4.GGUF"], None]})
    assert model_signals(odd).rows() == [(r["hub"], r["id"], *signal) for r in odd.iter_rows(named=True)
                                         for signal in signals_of(r)]
    assert model_signals(odd)["signal"].to_list() == ["Azure (Foundry)", "GGUF", "llamafile", "ONNX", "GGUF"]


def test_shares_per_group_and_month(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'd.db'}")
    records = [
        {"id": "Qwen/Qwen2.5-7B", "tags": ["endpoints_compatible", "region:us"], "createdAt": "2024-09-01T00:00:00Z"},
        {"id": "a/q-gguf", "tags": ["gguf", "base_model:Qwen/Qwen2.5-7B"], "createdAt": "2024-10-01T00:00:00Z"},
        {"id": "b/q-ft", "tags": ["base_model:Qwen/Qwen2.5-7B", "deploy:sagemaker"], "createdAt": "2024-10-05T00:00:00Z"},
        {"id": "c/q-ft", "tags": ["base_model:Qwen/Qwen2.5-7B"], "createdAt": "2024-11-05T00:00:00Z",
         "inferenceProviderMapping": {"fireworks-ai": {"status": "live", "providerId": "x", "task": "conversational"}}},
    ]
    write_page(store, "hf", records, run_id=1)
    resolve_edges(store, "hf")
    with store.transaction() as conn:
        store.upsert(conn, Card, [{"hub": "hf", "id": "c/q-ft", "text": "Deploy on PAI-EAS in one click."}])
        store.upsert(conn, Model, [{"hub": "modelscope", "id": "Qwen/Qwen2.5-7B-Instruct", "author": "Qwen",
                                    "tags": ["deploy:swingdeploy"], "files": [], "inference_providers": [],
                                    "deploy_flags": {"SupportApiInference": True}}])
    members = family_members(store, "Qwen")
    report = analyse_deployment(frames.models(store, include_card_data=True), members, frames.edges(store),
                                frames.cards(store))
    shares = {(s["scope"], s["key"], s["group"]): s for s in report.to_json()["shares"]}
    assert shares[("all", "all", "any")]["models"] == 5
    assert shares[("all", "all", ALIBABA)]["with_signal"] == 2  # c/q-ft card + the ModelScope flags and tag
    assert shares[("role", "derivative", ALIBABA)]["with_signal"] == 1
    assert shares[("month", "2024-10", LOCAL)]["share"] == 0.5
    assert shares[("month", "2024-10", HYPERSCALER)]["share"] == 0.5
    assert shares[("month", "2024-11", PROVIDER)]["share"] == 1.0
    ms = next(m for m in report.to_json()["models"] if m["hub"] == "modelscope")
    assert {(s["signal"], s["source"]) for s in ms["signals"]} == {("ModelScope SwingDeploy", "tag"),
                                                                   ("ModelScope API-Inference", "modelscope")}
