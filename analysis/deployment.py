"""Cloud-deployment signals: per model, every signal with its source, grouped, and their shares.

Groups: ``alibaba-cloud`` (Model Studio / Bailian / DashScope / PAI, ModelScope SwingDeploy and API-Inference),
``hyperscaler`` (AWS, Azure, Google), ``inference-provider`` (Together, Fireworks, … and live HF Inference
Providers), ``hf-endpoints`` (HF Inference Endpoints / TGI compatibility) and ``local`` (GGUF, MLX, AWQ, GPTQ …
and self-hosted serving stacks). Sources: ``tag``, ``inference`` (the record's live inference fields),
``format`` (tags, library and files), ``card`` (text of a fetched card) and ``modelscope`` (dolphin flags).
Facts: docs hub-apis.md §3. ``region:*`` tags are storage regions and never a signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

ALIBABA, HYPERSCALER, PROVIDER, HF_ENDPOINTS, LOCAL = (
    "alibaba-cloud", "hyperscaler", "inference-provider", "hf-endpoints", "local")
GROUPS = (ALIBABA, HYPERSCALER, PROVIDER, HF_ENDPOINTS, LOCAL)

#: Hub tags that are deployment signals: tag → (group, signal). ``region:*`` is deliberately absent.
TAG_SIGNALS: dict[str, tuple[str, str]] = {
    "endpoints_compatible": (HF_ENDPOINTS, "HF Inference Endpoints"),
    "text-generation-inference": (HF_ENDPOINTS, "TGI"),
    "deploy:azure": (HYPERSCALER, "Azure (Foundry)"),
    "deploy:sagemaker": (HYPERSCALER, "AWS SageMaker"),
    "deploy:swingdeploy": (ALIBABA, "ModelScope SwingDeploy"),
}
#: Tags that look like signals but are not (kept here so the exclusion is visible and tested).
NOT_SIGNALS = ("region:",)

#: Local / self-hosted formats: tag or library name → signal; file suffix → signal.
FORMAT_TAGS: dict[str, str] = {"gguf": "GGUF", "mlx": "MLX", "awq": "AWQ", "gptq": "GPTQ", "exl2": "EXL2",
                               "llamafile": "llamafile", "onnx": "ONNX", "openvino": "OpenVINO"}
FORMAT_FILES: dict[str, str] = {".gguf": "GGUF", ".llamafile": "llamafile", ".onnx": "ONNX"}

#: ModelScope dolphin flags → (group, signal). SupportFinetuning / SupportFlexTrain are training, not deployment.
MODELSCOPE_FLAGS: dict[str, tuple[str, str]] = {
    "SupportDeployment": (ALIBABA, "ModelScope SwingDeploy"),
    "SupportInference": (ALIBABA, "ModelScope API-Inference"),
    "SupportApiInference": (ALIBABA, "ModelScope API-Inference"),
    "SupportPaiModelGallery": (ALIBABA, "PAI Model Gallery"),
}

#: Live HF inference providers that are not third-party providers; every other provider id is one.
PROVIDER_GROUPS: dict[str, tuple[str, str]] = {"hf-inference": (HF_ENDPOINTS, "HF Inference API")}


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


#: Card-text mentions: (group, signal, pattern). Bare "Alibaba Cloud" is not one (it names Qwen's author).
CARD_PATTERNS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (ALIBABA, "Model Studio", _rx(r"\bModel\s?Studio\b")),
    (ALIBABA, "Bailian", _rx(r"\bBailian\b|百炼")),
    (ALIBABA, "DashScope", _rx(r"\bDashScope\b|dashscope\.aliyuncs\.com|灵积")),
    (ALIBABA, "PAI-EAS", _rx(r"\bPAI[-\s]?EAS\b")),
    (ALIBABA, "PAI Model Gallery", _rx(r"\bPAI[-\s]?Model\s?Gallery\b|PAI-QuickStart")),
    (HYPERSCALER, "AWS SageMaker", _rx(r"\bSageMaker\b|\bJumpStart\b")),
    (HYPERSCALER, "AWS Bedrock", _rx(r"\bBedrock\b")),
    (HYPERSCALER, "Azure ML / Foundry", _rx(r"\bAzure\s?(?:ML|Machine\s?Learning|AI\s?Foundry|AI\s?Studio)\b"
                                             r"|\bMicrosoft\s?Foundry\b")),
    (HYPERSCALER, "Google Vertex AI", _rx(r"\bVertex\s?AI\b|\bModel\s?Garden\b")),
    (PROVIDER, "Together AI", _rx(r"\bTogether\s?AI\b|api\.together\.(?:xyz|ai)")),
    (PROVIDER, "Fireworks", _rx(r"\bFireworks(?:\.ai|\s?AI)\b")),
    (PROVIDER, "Replicate", _rx(r"\breplicate\.com\b|\bon\s+Replicate\b")),
    (PROVIDER, "OpenRouter", _rx(r"\bOpenRouter\b")),
    (PROVIDER, "DeepInfra", _rx(r"\bDeepInfra\b")),
    (PROVIDER, "Groq", _rx(r"\bGroqCloud\b|api\.groq\.com")),
    (PROVIDER, "SiliconFlow", _rx(r"\bSiliconFlow\b|硅基流动")),
    (PROVIDER, "Novita", _rx(r"\bNovita(?:\.ai|\s?AI)\b")),
    (LOCAL, "Ollama", _rx(r"\bollama\s+(?:run|pull|create)\b|ollama\.com/library")),
    (LOCAL, "llama.cpp", _rx(r"\bllama\.cpp\b")),
    (LOCAL, "vLLM", _rx(r"\bvLLM\b")),
    (LOCAL, "LM Studio", _rx(r"\bLM\s?Studio\b")),
    (LOCAL, "SGLang", _rx(r"\bSGLang\b")),
)

#: Lower-case words one of which a card must contain for a pattern to be tried (a substring test is far
#: cheaper than a regex search over a long card); a signal missing here is always tried.
CARD_KEYWORDS: dict[str, tuple[str, ...]] = {
    "Model Studio": ("studio",), "Bailian": ("bailian", "百炼"), "DashScope": ("dashscope", "灵积"),
    "PAI-EAS": ("eas",), "PAI Model Gallery": ("gallery", "quickstart"), "AWS SageMaker": ("sagemaker", "jumpstart"),
    "AWS Bedrock": ("bedrock",), "Azure ML / Foundry": ("azure", "foundry"),
    "Google Vertex AI": ("vertex", "garden"), "Together AI": ("together",), "Fireworks": ("fireworks",),
    "Replicate": ("replicate",), "OpenRouter": ("openrouter",), "DeepInfra": ("deepinfra",), "Groq": ("groq",),
    "SiliconFlow": ("siliconflow", "硅基流动"), "Novita": ("novita",), "Ollama": ("ollama",),
    "llama.cpp": ("llama.cpp",), "vLLM": ("vllm",), "LM Studio": ("studio",), "SGLang": ("sglang",),
}
_CARD_WORDS = sorted({w for words in CARD_KEYWORDS.values() for w in words})
#: The card patterns a keyword calls for (their indexes), and the ones tried on every card (no keywords).
_PATTERNS_OF_WORD = {w: tuple(n for n, (_, name, _) in enumerate(CARD_PATTERNS) if w in CARD_KEYWORDS.get(name, ()))
                     for w in _CARD_WORDS}
_ALWAYS_TRIED = tuple(n for n, (_, name, _) in enumerate(CARD_PATTERNS) if name not in CARD_KEYWORDS)
_FORMAT_SUFFIXES = tuple(FORMAT_FILES)
_SIGNAL_TAGS = sorted({*TAG_SIGNALS, *FORMAT_TAGS})  # the tags signals_of reads

_SIGNAL_SCHEMA = {"hub": pl.String, "id": pl.String, "group": pl.String, "signal": pl.String, "source": pl.String}


def _held_words(text: pl.Expr) -> pl.Expr:
    """The :data:`CARD_KEYWORDS` words a text holds once lower-cased, as a list: one pass (polars' Aho-Corasick
    search) for all of them rather than a substring search per word."""
    return text.str.to_lowercase().str.extract_many(_CARD_WORDS, overlapping=True)


def card_words(texts: list[str | None]) -> list[frozenset[str]]:
    """:func:`_held_words` of each text."""
    found = pl.DataFrame({"text": texts}, schema={"text": pl.String}).select(_held_words(pl.col("text")))
    return [frozenset(words or ()) for words in found.to_series().to_list()]


def signals_of(row: dict[str, Any], card_text: str | None = None,
               words: frozenset[str] | None = None) -> list[tuple[str, str, str]]:
    """``(group, signal, source)`` for one model row (``tags``, ``library_name``, ``files``, ``inference``,
    ``inference_providers``, ``deploy_flags``) and its card text, without duplicates, in rule order. ``words``:
    :func:`card_words` of the text, when the caller found them for many cards at once."""
    out: list[tuple[str, str, str]] = []
    tags = [t for t in (row.get("tags") or []) if isinstance(t, str) and not t.startswith(NOT_SIGNALS)]
    for tag in tags:
        if tag in TAG_SIGNALS:
            out.append((*TAG_SIGNALS[tag], "tag"))
    if row.get("inference") == "warm":
        out.append((PROVIDER, "HF Inference Providers (warm)", "inference"))
    for provider in row.get("inference_providers") or []:
        group, name = PROVIDER_GROUPS.get(provider, (PROVIDER, f"provider:{provider}"))
        out.append((group, name, "inference"))
    library = (row.get("library_name") or "").lower()
    for name in [t for t in tags if t in FORMAT_TAGS] + ([library] if library in FORMAT_TAGS else []):
        out.append((LOCAL, FORMAT_TAGS[name], "format"))
    for file in row.get("files") or []:
        lowered = file.lower()
        if lowered.endswith(_FORMAT_SUFFIXES):
            out.append((LOCAL, FORMAT_FILES[next(x for x in _FORMAT_SUFFIXES if lowered.endswith(x))], "format"))
    flags = row.get("deploy_flags") or {}
    if isinstance(flags, dict):
        for flag, (group, name) in MODELSCOPE_FLAGS.items():
            if flags.get(flag) is True:
                out.append((group, name, "modelscope"))
    if card_text:
        held = card_words([card_text])[0] if words is None else words
        for n in sorted({*_ALWAYS_TRIED, *(n for w in held for n in _PATTERNS_OF_WORD[w])}):
            group, name, pattern = CARD_PATTERNS[n]
            if pattern.search(card_text):
                out.append((group, name, "card"))
    return list(dict.fromkeys(out))


def model_signals(models: pl.DataFrame, cards: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every signal of every model: hub, id, group, signal, source (one row each)."""
    texts: dict[tuple[str, str], tuple[str, frozenset[str]]] = {}
    if cards is not None and "text" in cards.columns:
        found = cards.lazy().filter(pl.col("text").str.len_bytes() > 0).select(
            "hub", "id", "text", _held_words(pl.col("text")).alias("words"))
        if not _ALWAYS_TRIED:  # a card that holds no keyword has no card signal: its text is not made a str
            found = found.filter(pl.col("words").list.len() > 0)
        texts = {(h, i): (t, frozenset(w)) for h, i, t, w in found.collect().iter_rows()}
    cols = [c for c in ("hub", "id", "tags", "library_name", "files", "inference", "inference_providers",
                        "deploy_flags") if c in models.columns]
    # only the tags and files a rule reads become Python strings (a model's file list can be long), a column at a
    # time (polars' rows cost ≈ 2 × more)
    narrowed = {"tags": pl.element().is_in(_SIGNAL_TAGS),
                "files": pl.any_horizontal(pl.element().str.to_lowercase().str.ends_with(x) for x in _FORMAT_SUFFIXES)}
    frame = models.select(cols).with_columns(pl.col(c).list.filter(keep) for c, keep in narrowed.items() if c in cols)
    rows = []
    for values in zip(*(frame[c].to_list() for c in cols), strict=True):
        row = dict(zip(cols, values, strict=True))
        for group, signal, source in signals_of(row, *texts.get((row["hub"], row["id"]), (None, None))):
            rows.append({"hub": row["hub"], "id": row["id"], "group": group, "signal": signal, "source": source})
    return pl.DataFrame(rows, schema=_SIGNAL_SCHEMA)


def signal_shares(signals: pl.DataFrame, population: pl.DataFrame, by: str | None = None) -> pl.DataFrame:
    """Share of ``population`` models (hub, id and the ``by`` column) with at least one signal per group.

    Columns: scope (``by`` or ``all``), key, group, models, with_signal, share. ``any`` counts a model with a
    signal of any group.
    """
    scope = by or "all"
    pop = population.with_columns(pl.lit("all").alias("_key") if by is None else pl.col(by).cast(pl.String)
                                  .fill_null("(none)").alias("_key")).select("hub", "id", "_key")
    sizes = pop.group_by("_key").agg(pl.len().alias("models"))
    hits = signals.select("hub", "id", "group").unique().join(pop, on=["hub", "id"], how="inner")
    hits = pl.concat([hits, hits.with_columns(pl.lit("any").alias("group")).unique()])
    counts = hits.group_by("_key", "group").agg(pl.col("id").n_unique().alias("with_signal"))
    grid = sizes.join(pl.DataFrame({"group": [*GROUPS, "any"]}), how="cross")
    out = (grid.join(counts, on=["_key", "group"], how="left")
           .with_columns(pl.col("with_signal").fill_null(0).cast(pl.UInt32))
           .with_columns((pl.col("with_signal") / pl.col("models")).round(4).alias("share")))
    return (out.rename({"_key": "key"}).with_columns(pl.lit(scope).alias("scope"))
            .select("scope", "key", "group", "models", "with_signal", "share").sort("key", "group"))


@dataclass(slots=True)
class DeploymentReport:
    """Signals per model, shares per scope, and the caveats."""

    members: pl.DataFrame  # hub, id, generation, role, month
    signals: pl.DataFrame
    shares: pl.DataFrame
    by_source: pl.DataFrame
    caveats: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The family's models, those with at least one signal, and the overall share per group."""
        overall = {g: s for scope, g, s in self.shares.filter(pl.col("scope") == "all")
                   .select("scope", "group", "share").iter_rows()}
        signalled = self.members.join(self.signals.select("hub", "id").unique(), on=["hub", "id"], how="semi")
        return {"models": self.members.height, "with_any_signal": signalled.height, "share_by_group": overall}

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"models": [{"id", "hub", "signals": [{"group", "signal", "source"}]}],
        "shares": […], "by_source": […], "caveats": […]}``."""
        per_model: dict[tuple[str, str], list[dict[str, str]]] = {}
        for h, i, g, s, src in self.signals.select("hub", "id", "group", "signal", "source").iter_rows():
            per_model.setdefault((h, i), []).append({"group": g, "signal": s, "source": src})
        models = [{"id": i, "hub": h, "generation": gen, "role": role, "signals": per_model.get((h, i), [])}
                  for h, i, gen, role in self.members.select("hub", "id", "generation", "role").iter_rows()]
        return {"summary": self.summary(), "models": models, "shares": self.shares.to_dicts(),
                "by_source": self.by_source.to_dicts(), "caveats": self.caveats}


def analyse_deployment(models: pl.DataFrame, members: pl.DataFrame, edges: pl.DataFrame | None = None,
                       cards: pl.DataFrame | None = None, since: str | None = None,
                       signals: pl.DataFrame | None = None) -> DeploymentReport:
    """Deployment signals of the family ``members`` (hub, id, generation).

    ``models`` should carry ``deploy_flags`` (``frames.models(store)`` does). Shares are
    given overall, per role (root / derivative), per generation and per creation month (``since`` bounds the
    months shown). ``signals``: :func:`model_signals` of a superset of ``models`` with the same rows and cards
    (a report's two months share one), kept to ``models`` here.
    """
    derived = pl.DataFrame(schema={"hub": pl.String, "id": pl.String}) if edges is None else (
        edges.select("hub", pl.col("child").alias("id")).unique())
    fam = (members.select("hub", "id", "generation")
           .join(models.select("hub", "id", "created_at"), on=["hub", "id"], how="left")
           .join(derived.with_columns(pl.lit("derivative").alias("role")), on=["hub", "id"], how="left")
           .with_columns(pl.col("created_at").dt.strftime("%Y-%m").alias("month"),
                         pl.col("role").fill_null("root"))
           .select("hub", "id", "generation", "created_at", "month", "role"))
    fam_models = models.join(fam.select("hub", "id"), on=["hub", "id"], how="semi")
    signals = (model_signals(fam_models, cards) if signals is None
               else signals.join(fam_models.select("hub", "id"), on=["hub", "id"], how="semi"))
    by_month = signal_shares(signals, fam.filter(pl.col("month").is_not_null()), "month")
    if since is not None:
        by_month = by_month.filter(pl.col("key") >= since)
    shares = pl.concat([signal_shares(signals, fam), signal_shares(signals, fam, "role"),
                        signal_shares(signals, fam, "generation"), by_month])
    by_source = (signals.group_by("group", "source", "signal").agg(pl.col("id").n_unique().alias("models"))
                 .sort(["group", "models", "signal"], descending=[False, True, False]))
    fetched = 0 if cards is None else cards.filter(pl.col("text").is_not_null()).join(
        fam.select("hub", "id"), on=["hub", "id"], how="semi").height
    caveats = [
        "Tags such as endpoints_compatible and text-generation-inference mean a model can be deployed that way, "
        "not that it is deployed.",
        f"Card mentions are read from fetched cards only ({fetched} of {fam.height} family models).",
        "Inference-provider status is as of the crawl; providers change over time.",
        "region:* tags are storage regions and are not counted as deployment signals.",
    ]
    if "deploy_flags" not in models.columns:
        caveats.append("ModelScope deployment flags were not loaded (models frame without deploy_flags).")
    return DeploymentReport(fam, signals, shares, by_source, caveats)
