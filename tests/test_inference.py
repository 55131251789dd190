"""Inferred lineage: the rules on realistic records, no leakage of declared lineage, and the evaluation itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.families import load_view
from analysis.graph import build_graph, descendants, graph_with_inferred
from analysis.inference import (
    DEFAULT_THRESHOLD,
    FamilyJoins,
    all_inferences,
    confident,
    family_counts,
    infer,
    inferred_lineage,
    load_features,
    load_params,
    match_name,
    mergekit_models,
    strip_declared,
    with_inferred,
)
from analysis.lineage_queries import find
from crawler.store import Card, open_store
from hubsim.eval.inference import evaluate_hidden, evaluate_world
from tests.test_graph_dirt import hf, store_with

MERGE_CARD = """---
base_model:
- a/Qwen2-7B-x
license: apache-2.0
---
# Merged

```yaml
models:
  - model: a/Qwen2-7B-x
  - model: b/Qwen2-7B-y
    parameters: {weight: 0.5}
merge_method: slerp
base_model: a/Qwen2-7B-x
dtype: bfloat16
```
"""


def test_strip_declared_removes_every_declared_signal() -> None:
    text = "---\nbase_model: Qwen/Qwen2-7B\n---\n---\nbase_model: ./out\n---\n# Card body\n"
    f = strip_declared(["gguf", "base_model:Qwen/Qwen2-7B", "base_model:quantized:Qwen/Qwen2-7B"],
                       {"base_model": "Qwen/Qwen2-7B", "base_model_relation": "quantized", "license": "mit"}, text)
    assert f.tags == ["gguf"]
    assert f.adapter_base is None
    assert f.card_text == "# Card body\n"
    adapter = strip_declared([], {"base_model": "Qwen/Qwen2-7B", "base_model_name_or_path": "Qwen/Qwen2-7B"}, None)
    assert adapter.adapter_base == "Qwen/Qwen2-7B"  # a PEFT config's key, not the declared base: kept


def test_mergekit_config_in_card_body() -> None:
    body = strip_declared([], None, MERGE_CARD).card_text
    assert mergekit_models(body) == ["a/Qwen2-7B-x", "b/Qwen2-7B-y"]
    assert mergekit_models("```yaml\n!!python/object:os.system ls\nmerge_method: x\n```") == []  # safe_load only


def test_name_and_card_rules(tmp_path: Path) -> None:
    store = store_with(tmp_path, [
        hf("Qwen/Qwen2-7B-Instruct", "2024-06-06"),
        hf("Qwen/Qwen2-7B", "2024-06-05"),
        hf("bartowski/Qwen2-7B-Instruct-GGUF", "2024-06-07", tags=("gguf",), library="gguf"),
        hf("Qwen/Qwen2-7B-Instruct-GGUF", "2024-06-07", tags=("gguf",), library="gguf"),
        hf("RichardErkhov/Qwen_-_Qwen2-7B-Instruct-gguf", "2024-06-09", tags=("gguf",), library="gguf"),
        hf("mlx-community/Qwen2-7B-Instruct-4bit", "2024-06-08", tags=("mlx",), library="mlx"),
        hf("silent666/Qwen-Qwen2-7B-1718997964", "2024-06-20", tags=("peft",), library="peft"),
        hf("early/Qwen2-7B-Instruct-AWQ", "2024-01-01", tags=("awq", "qwen2")),  # older than any namesake: no parent
        hf("a/Qwen2-7B-x", "2024-06-10"), hf("b/Qwen2-7B-y", "2024-06-11"),
        hf("c/Qwen2-7B-merged", "2024-06-12", tags=("mergekit", "merge", "qwen2")),
        hf("d/opaque-name", "2024-06-12", ("Qwen/Qwen2-7B",), tags=("llama",)),
        {**hf("e/my-lora", "2024-06-13", tags=("peft",), library="peft"),  # a PEFT config copied to the card data
         "cardData": {"license": "mit", "base_model_name_or_path": "Qwen/Qwen2-7B"}},
    ])
    with store.transaction() as conn:
        store.upsert(conn, Card, [{"hub": "hf", "id": "c/Qwen2-7B-merged", "text": MERGE_CARD}])
    g = build_graph(store)
    inferred = infer(g, load_features(store, g))
    got = {g.ids[i.child]: ([g.ids[p] for p in i.parents], i.relation, i.rule) for i in inferred if i.parents}
    claims = {g.ids[i.child]: i.rule for i in inferred if not i.parents}
    assert got["bartowski/Qwen2-7B-Instruct-GGUF"] == (["Qwen/Qwen2-7B-Instruct"], "quantized",
                                                       "name:quant-suffix:unique")
    assert got["mlx-community/Qwen2-7B-Instruct-4bit"] == (["Qwen/Qwen2-7B-Instruct"], "quantized",
                                                           "name:quant-suffix:unique")
    assert got["silent666/Qwen-Qwen2-7B-1718997964"] == (["Qwen/Qwen2-7B"], "adapter", "name:owner-embedded")
    assert got["RichardErkhov/Qwen_-_Qwen2-7B-Instruct-gguf"] == (["Qwen/Qwen2-7B-Instruct"], "quantized",
                                                                  "name:owner-embedded")  # not Qwen's own GGUF
    assert "early/Qwen2-7B-Instruct-AWQ" not in got  # older than any namesake: no parent …
    assert claims["early/Qwen2-7B-Instruct-AWQ"] == "arch+name:qwen2"  # … only a membership claim
    assert claims["bartowski/Qwen2-7B-Instruct-GGUF"] == "name-arch:qwen"  # a claim beside the edge
    assert got["c/Qwen2-7B-merged"] == (["a/Qwen2-7B-x", "b/Qwen2-7B-y"], "merge", "card:mergekit")
    assert got["e/my-lora"] == (["Qwen/Qwen2-7B"], "adapter", "card:adapter-base")  # no hint in its name
    assert all_inferences(store, g) == inferred  # the store's pass finds the adapter's card data too
    assert "d/opaque-name" not in got  # declared: not a candidate
    assert "Qwen/Qwen2-7B-Instruct" not in got  # official roots are never given a parent

    declared = descendants(g, "Qwen/Qwen2-7B")
    assert declared["count"] == 1  # d/opaque-name
    gi = graph_with_inferred(store, g)
    rows = {m["id"]: m for m in descendants(gi, "Qwen/Qwen2-7B", include_inferred=True)["models"]}
    assert rows["silent666/Qwen-Qwen2-7B-1718997964"]["inferred"] is True
    assert rows["silent666/Qwen-Qwen2-7B-1718997964"]["rule"] == "name:owner-embedded"
    below = {m["id"] for m in descendants(gi, "Qwen/Qwen2-7B-Instruct", include_inferred=True)["models"]}
    assert "bartowski/Qwen2-7B-Instruct-GGUF" not in below  # its rule's confidence is under the threshold
    assert descendants(gi, "Qwen/Qwen2-7B")["count"] == 1  # kept apart unless asked
    assert match_name_for(g, "d/opaque-name") is None


def match_name_for(g, model_id: str):
    from analysis.inference import NameIndex

    return match_name(NameIndex(g, ("Qwen",)), find(g, model_id))


def test_hidden_evaluation_cannot_see_the_hidden_base(tmp_path: Path) -> None:
    """A model whose only lineage signal is its declared base must come back unpredicted."""
    store = store_with(tmp_path, [
        hf("Qwen/Qwen2-7B", "2024-06-05"),
        hf("d/opaque-name", "2024-06-12", ("Qwen/Qwen2-7B",), tags=("llama",)),
        hf("e/Qwen2-7B-GGUF", "2024-06-12", ("Qwen/Qwen2-7B",), tags=("gguf",)),
    ])
    g = build_graph(store)
    feats = load_features(store, g)
    assert all("base_model" not in t for f in feats.values() for t in f.tags)
    r = evaluate_hidden(g, feats, folds=2)
    assert r["models"] == 2
    assert r["parent"]["true_edges"] == 2 and r["parent"]["hits"] == 0  # under the threshold: abstains
    every = r["by_confidence"]["levels"][0]
    assert every["confidence"] == 0.0 and every["edges"] == 1 and every["parent_precision"] == 1.0  # the GGUF name
    assert r["family"]["fn"] == 1 and r["family"]["tp"] == 1  # the opaque one stays unknown


def test_sample_features_carry_no_declared_lineage(tmp_path: Path) -> None:
    from hubsim.eval.world_store import load_world_store
    from tests.test_graph_sample import SAMPLE

    store = open_store(f"sqlite:///{tmp_path}/s.db")
    load_world_store(SAMPLE, store)
    g = build_graph(store)
    feats = load_features(store, g)
    assert len(feats) == g.n_nodes
    for f in feats.values():
        assert not any("base_model" in t for t in f.tags)
        assert not (f.card_text or "").lstrip().startswith("---")


def test_evaluation_on_a_generated_world_with_truth(tmp_path: Path) -> None:
    from hubsim.generate import GeneratorConfig, generate_world

    generate_world(tmp_path / "w", GeneratorConfig(qwen=800, others=400, seed=3))
    r = evaluate_world(tmp_path / "w", folds=3)
    for part in (r["hidden_declared"], r["undeclared_truth"]):
        fam = part["family"]
        assert fam["tp"] + fam["fn"] == fam["members"] <= fam["known"] <= part["models"] and part["models"] > 50
        assert part["parent"]["hits"] <= min(part["parent"]["predicted_edges"], part["parent"]["true_edges"])
        assert part["parent"]["precision"] > 0.5  # inference that guesses at random would be far below


def test_family_counts_declared_and_inferred_side_by_side(tmp_path: Path) -> None:
    store = store_with(tmp_path, [
        hf("Qwen/Qwen2-7B", "2024-06-05"),
        hf("a/Qwen2-7B-ft", "2024-06-10", ("Qwen/Qwen2-7B",)),
        hf("RichardErkhov/a_-_Qwen2-7B-ft-gguf", "2024-06-20", tags=("gguf",), library="gguf"),  # owner-embedded
        hf("x/Qwen2-7B-foo-v2", "2024-06-21", tags=("transformers",)),  # a name span: family sure, parent not
        hf("y/opaque-qwen", "2024-06-22"),  # qwen2 architecture and name, no parent: a membership claim
        hf("z/opaque-too", "2024-06-22", tags=("transformers", "llama")),  # llama architecture: under the threshold
    ])
    g = build_graph(store)
    inf = inferred_lineage(store, g, family_architectures=("qwen2", "llama"))
    rules = {(g.ids[i.child], i.rule) for i in inf}
    assert rules == {("RichardErkhov/a_-_Qwen2-7B-ft-gguf", "name:owner-embedded"),
                     ("RichardErkhov/a_-_Qwen2-7B-ft-gguf", "name-arch:qwen"),
                     ("x/Qwen2-7B-foo-v2", "name:base-span:unique"), ("x/Qwen2-7B-foo-v2", "name-arch:qwen"),
                     ("y/opaque-qwen", "arch+name:qwen2")}  # z/opaque-too: llama architecture alone is unsure
    assert confident(inf) == inf and all(i.confidence >= DEFAULT_THRESHOLD or i.family_confidence >= DEFAULT_THRESHOLD
                                         for i in inf)
    joins = FamilyJoins.of(inf)
    counts = family_counts(g, joins, [find(g, "Qwen/Qwen2-7B")], ("qwen2",))
    assert counts == {"declared": 1, "inferred": 3, "with_inferred": 4, "threshold": DEFAULT_THRESHOLD,
                      "inferred_by_rule": {"name:owner-embedded": 1, "name:base-span:unique": 1, "arch+name:qwen2": 1}}
    assert family_counts(g, joins, [find(g, "Qwen/Qwen2-7B")], ())["inferred"] == 2  # not its architecture: no claim
    gi = with_inferred(g, inf)  # only the sure exact parent becomes an edge
    assert [(gi.ids[c], gi.ids[p]) for c, p, x in zip(gi.child, gi.parent, gi.inferred, strict=True) if x] == [
        ("RichardErkhov/a_-_Qwen2-7B-ft-gguf", "a/Qwen2-7B-ft")]


def test_the_exact_size_of_an_official_model_of_the_architectures_family_is_a_membership_claim(tmp_path: Path) -> None:
    """``arch+size``: a llama-architecture model of Meta's exact size; not one of 01-ai's (a llama-architecture model
    of another publisher), not a size no official model has, and never an edge (siblings share the size)."""
    def sized(record: dict, total: int) -> dict:
        return {**record, "safetensors": {"parameters": {"BF16": total}, "total": total}}

    store = store_with(tmp_path, [
        sized(hf("meta-llama/Meta-Llama-3-8B", "2024-04-17", tags=("llama",)), 8030261248),
        sized(hf("01-ai/Yi-1.5-9B", "2024-05-11", tags=("llama",)), 8829407232),
        sized(hf("alice/Hermes-8B-sft", "2024-06-01", tags=("llama",)), 8030261248),
        sized(hf("bob/Orca-9B-sft", "2024-06-01", tags=("llama",)), 8829407232),
        sized(hf("carol/Orca-3B-sft", "2024-06-01", tags=("llama",)), 3212749824),
        hf("dave/Hermes-8B-dpo", "2024-06-02", tags=("llama",)),  # no size listed
    ])
    g = build_graph(store)
    inferred = infer(g, load_features(store, g), params=load_params(store, g),
                     root_authors=("meta-llama", "01-ai"), family_architectures=("llama",))
    claims = {g.ids[i.child]: i.rule for i in inferred if not i.parents}
    assert claims == {"alice/Hermes-8B-sft": "arch+size:llama", "bob/Orca-9B-sft": "arch:llama",
                      "carol/Orca-3B-sft": "arch:llama", "dave/Hermes-8B-dpo": "arch:llama"}
    assert all(not i.rule.startswith("arch+size") for i in inferred if i.parents)
    unsized = infer(g, load_features(store, g), root_authors=("meta-llama",), family_architectures=("llama",))
    assert {i.rule for i in unsized} == {"arch:llama"}  # without the sizes (an older store): no size claim


def test_the_stores_pass_infers_what_inference_over_every_model_does(tmp_path: Path) -> None:
    """:func:`all_inferences` looks only at the likely candidates, found in SQL and by vectorised name hints: on a
    dirty world with non-ASCII ids, cards with mergekit configs and model links, it infers exactly what
    :func:`infer` does with every model's features."""
    from hubsim.eval.world_store import load_world_store
    from hubsim.gen_dirt import DirtConfig
    from hubsim.generate import GeneratorConfig, generate_world

    generate_world(tmp_path / "w", GeneratorConfig(qwen=600, others=900, seed=11, dirt=DirtConfig(non_ascii_ids=0.05)))
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    load_world_store(tmp_path / "w", store)
    g = build_graph(store)
    assert any(not i.isascii() for i in g.ids)
    everything = infer(g, load_features(store, g), params=load_params(store, g))
    assert all_inferences(store, g) == everything
    view = load_view(store)  # the report's view reads the parameter counts with its scan of the models
    assert view.params is not None and view.params.any()
    assert np.array_equal(view.params, load_params(store, view.graph))
    assert all_inferences(store, view.graph, params=view.params) == all_inferences(store, view.graph)
    rules = {i.rule.split(":")[0] + ":" + i.rule.split(":")[1] for i in everything}
    assert {"card:mergekit", "name:quant-suffix", "name:owner-embedded"} <= rules and len(everything) > 300, rules


def test_the_vectorised_hints_say_of_each_model_what_its_own_test_says(tmp_path: Path) -> None:
    """``_hints`` (polars, a chunk of models at a time) finds the candidates ``_hint`` finds one model at a time: on
    the real sample, and on ids whose quantization token sits at either end, between other separators, inside a
    word or a dotted name, in upper case or beside non-ASCII letters, in the owner part, or around a second ``/``."""
    from analysis.inference import _hint, _hints, family_words
    from analysis.lineage_graph import IdList, Labels, LineageGraph
    from hubsim.eval.world_store import load_world_store
    from tests.test_graph_sample import SAMPLE

    store = open_store(f"sqlite:///{tmp_path}/s.db")
    load_world_store(SAMPLE, store)
    sample = build_graph(store)
    ids = ["a/GGUF", "a/model-GGUF", "a/gguf-model", "a/modelgguf", "a/model.gguf", "a/Q4_K_M-x", "a/x q4 y",
           "a/xq4", "a/x__-_q8_0", "a/X-_-Y", "a/model-3bit", "a/model-3-bits", "a/m-4.0bpw", "a/m-bpw4.5",
           "a/m-4.0.bpw", "a/Ünï-AWQ", "a/ünïawq", "a/m-i1", "a/m-i12", "q4/name", "a/m\u00a0q4", "a/plain",
           "a/Qwen-mistral", "a/m-w4a16", "a/m-Int4-x", "a/İnt4", "gguf-org/x", "a-gguf/x", "a/b/x-gguf",
           "a/gguf/x", "x-gguf", "gguf"]
    arch = [None, "Qwen2", "İ", "LlamaForCausalLM", "mistral"]
    crafted = LineageGraph(
        ids=IdList(ids), present=np.ones(len(ids), np.uint8), ms_ids={}, authors=Labels(np.zeros(len(ids)), [None]),
        created=np.zeros(len(ids), np.int64), architecture=Labels(np.arange(len(ids)) % len(arch), arch),
        child=np.zeros(0, np.int32), parent=np.zeros(0, np.int32), relation=np.zeros(0, np.int8),
        inferred=np.zeros(0, bool), rule=[], confidence=np.zeros(0, np.float32))
    for family_arch in ({"qwen2", "llama", "mistral"}, set()):
        words = family_words(family_arch)
        for g in (sample, crafted):
            nodes = np.arange(g.n_nodes, dtype=np.int64)
            each = [_hint(g.ids[n], g.architecture[n], family_arch, words) for n in range(g.n_nodes)]
            assert _hints(g, nodes, family_arch, words, chunk=7).tolist() == each and 0 < sum(each) < g.n_nodes


def test_owner_labels_take_the_author_else_the_ids_owner(tmp_path: Path) -> None:
    """Every node's owner in lower case: its author (``Qwen``), else the owner part of its id (a ModelScope record
    may list no author, or an empty one)."""
    from analysis.inference import owner_labels
    from analysis.lineage_graph import Labels

    store = store_with(tmp_path, [hf("Qwen/Qwen2-7B", "2024-06-05"), hf("Alice/Qwen2-7B-sft", "2024-06-06"),
                                  hf("Bob/Qwen2-7B-dpo", "2024-06-07"), hf("Carol/x", "2024-06-08")])
    g = build_graph(store)
    authors = {"Qwen/Qwen2-7B": "QWEN", "Alice/Qwen2-7B-sft": None, "Bob/Qwen2-7B-dpo": "", "Carol/x": "Dave"}
    g.authors = Labels(np.arange(g.n_nodes), [authors[i] for i in g.ids])
    owners = owner_labels(g)
    assert dict(zip(g.ids, owners, strict=True)) == {"Qwen/Qwen2-7B": "qwen", "Alice/Qwen2-7B-sft": "alice",
                                                    "Bob/Qwen2-7B-dpo": "bob", "Carol/x": "dave"}
    assert owners.isin({"alice", "qwen"}).tolist() == [i in ("Qwen/Qwen2-7B", "Alice/Qwen2-7B-sft") for i in g.ids]


def test_the_vectorised_names_are_norm_names() -> None:
    """``_norm_names`` (polars: ``_`` as a literal, the pattern only where it matters) gives :func:`norm_name` of
    every name: separators alone, in runs, mixed, at either end, beside whitespace and non-ASCII letters."""
    import polars as pl

    from analysis.inference import _norm_names, norm_name

    names = ["Qwen2-7B", "Qwen2_7B_Instruct", "a--b", "a_-_b", "_a_", "-a-", "a b", "a\tb", "a\u00a0b", "É_x", "ß-Y",
             "", "-", "__", "a\nb", "Qwen2.5-7B", "mixed-_ _-case"]
    assert _norm_names(pl.Series([*names, None], dtype=pl.String)).to_list() == [*map(norm_name, names), None]
