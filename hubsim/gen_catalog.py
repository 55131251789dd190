"""Fixed catalogues of the generator: root models per family, licences, authors, name parts.

Release dates and licences follow the real Hub (hub-apis.md §4, the real cards in ../shared/data/real);
Qwen3.5 names and date are an assumption (see docs/generator.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime


@dataclass(slots=True, frozen=True)
class RootSpec:
    """A model published by a family's organisation; ``parent`` names an earlier root it derives from."""

    id: str
    released: str  # YYYY-MM-DD
    arch: str
    size: str  # parameter size label, e.g. "7B"
    license: str
    license_name: str | None = None
    parent: str | None = None
    relation: str | None = None
    weight: float = 1.0  # attractiveness as a base for derivatives
    pipeline: str = "text-generation"
    generation: str = ""
    family: str | None = None  # the family whose root this model is (None: its org publishes it outside any family)

    @property
    def created(self) -> int:
        return int(datetime.strptime(self.released, "%Y-%m-%d").replace(hour=9, tzinfo=UTC).timestamp())


_SIZE_WEIGHT = {"0.5B": 1.6, "0.6B": 1.6, "1.5B": 1.8, "1.7B": 1.5, "1.8B": 1.4, "3B": 1.3, "4B": 1.4,
                "7B": 2.6, "8B": 2.4, "14B": 1.3, "32B": 1.2, "72B": 0.8, "110B": 0.2, "1_8B": 0.8}

#: Architecture class names for ``config.architectures``.
ARCH_CLASS = {"qwen": "QWenLMHeadModel", "qwen2": "Qwen2ForCausalLM", "qwen2_moe": "Qwen2MoeForCausalLM",
              "qwen2_vl": "Qwen2VLForConditionalGeneration", "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
              "qwen2_audio": "Qwen2AudioForConditionalGeneration", "qwen3": "Qwen3ForCausalLM",
              "qwen3_moe": "Qwen3MoeForCausalLM", "qwen3_vl": "Qwen3VLForConditionalGeneration",
              "qwen3_next": "Qwen3NextForCausalLM", "llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
              "mixtral": "MixtralForCausalLM", "gemma": "GemmaForCausalLM", "gemma2": "Gemma2ForCausalLM",
              "gemma3": "Gemma3ForConditionalGeneration", "deepseek_v3": "DeepseekV3ForCausalLM",
              "phi3": "Phi3ForCausalLM"}

_QWEN_LICENSE = {"tq": ("other", "tongyi-qianwen"), "tqr": ("other", "tongyi-qianwen-research"),
                 "tqla": ("other", "tongyi-qianwen-license-agreement"), "qr": ("other", "qwen-research"),
                 "q": ("other", "qwen"), "a": ("apache-2.0", None)}


def _line(gen: str, names: list[tuple[str, str, str, str, str]], *, chat: str | None, quants: tuple[str, ...],
          pipeline: str = "text-generation", appeal: float = 1.0) -> list[RootSpec]:
    """Roots of one Qwen line: each base, its chat/instruct model, and official quantized builds of that."""
    out: list[RootSpec] = []
    for name, released, arch, size, lic in names:
        license_value, license_name = _QWEN_LICENSE[lic]
        w = _SIZE_WEIGHT.get(size, 1.0) * appeal
        base = RootSpec(f"Qwen/{name}", released, arch, size, license_value, license_name, weight=w,
                        pipeline=pipeline, generation=gen)
        out.append(base)
        if chat is None:
            continue
        tuned = RootSpec(f"Qwen/{name}-{chat}", released, arch, size, license_value, license_name, base.id,
                         "finetune", w * 1.6, pipeline, gen)
        out.append(tuned)
        for q in quants:
            out.append(RootSpec(f"{tuned.id}-{q}", released, arch, size, license_value, license_name, tuned.id,
                                "quantized", 0.08, pipeline, gen))
    return out


def qwen_roots() -> list[RootSpec]:
    """The official ``Qwen/`` models across generations, in release order."""
    t = "text-generation"
    roots = [
        *_line("Qwen", [("Qwen-7B", "2023-08-03", "qwen", "7B", "tqla"), ("Qwen-14B", "2023-09-24", "qwen", "14B", "tqla"),
                        ("Qwen-1_8B", "2023-11-30", "qwen", "1_8B", "tqr"), ("Qwen-72B", "2023-11-30", "qwen", "72B", "tqla")],
               chat="Chat", quants=("Int4",)),
        *_line("Qwen-VL", [("Qwen-VL", "2023-08-22", "qwen", "7B", "tqla")], chat="Chat", quants=("Int4",),
               pipeline="visual-question-answering", appeal=0.4),
        *_line("Qwen-Audio", [("Qwen-Audio", "2023-11-28", "qwen", "7B", "tqla")], chat="Chat", quants=(), pipeline=t, appeal=0.2),
        *_line("Qwen1.5", [(f"Qwen1.5-{s}", "2024-02-05", "qwen2", s, "tqr" if s in ("0.5B", "1.8B", "4B") else "tq")
                           for s in ("0.5B", "1.8B", "4B", "7B", "14B", "72B")]
               + [("Qwen1.5-32B", "2024-04-02", "qwen2", "32B", "tq"), ("Qwen1.5-110B", "2024-04-25", "qwen2", "110B", "tq"),
                  ("Qwen1.5-MoE-A2.7B", "2024-03-28", "qwen2_moe", "14B", "tq")],
               chat="Chat", quants=("GPTQ-Int4", "AWQ", "GGUF")),
        *_line("CodeQwen1.5", [("CodeQwen1.5-7B", "2024-04-16", "qwen2", "7B", "tq")], chat="Chat", quants=("AWQ", "GGUF"), appeal=0.4),
        *_line("Qwen2", [(f"Qwen2-{s}", "2024-06-07", "qwen2", s, "a") for s in ("0.5B", "1.5B", "7B")]
               + [("Qwen2-57B-A14B", "2024-06-07", "qwen2_moe", "32B", "a"), ("Qwen2-72B", "2024-06-07", "qwen2", "72B", "tq")],
               chat="Instruct", quants=("GPTQ-Int4", "AWQ", "GGUF")),
        *_line("Qwen2-Math", [(f"Qwen2-Math-{s}", "2024-08-08", "qwen2", s, "a" if s != "72B" else "tq")
                              for s in ("1.5B", "7B", "72B")], chat="Instruct", quants=(), appeal=0.3),
        *_line("Qwen2-Audio", [("Qwen2-Audio-7B", "2024-08-09", "qwen2_audio", "7B", "a")], chat="Instruct", quants=(),
               appeal=0.2),
        *_line("Qwen2-VL", [(f"Qwen2-VL-{s}", "2024-08-29", "qwen2_vl", s, "a" if s != "72B" else "q")
                            for s in ("2B", "7B", "72B")], chat="Instruct", quants=("AWQ", "GPTQ-Int4"),
               pipeline="image-text-to-text", appeal=0.5),
        *_line("Qwen2.5", [(f"Qwen2.5-{s}", "2024-09-19", "qwen2", s,
                            "qr" if s == "3B" else "q" if s == "72B" else "a")
                           for s in ("0.5B", "1.5B", "3B", "7B", "14B", "32B", "72B")],
               chat="Instruct", quants=("GGUF", "AWQ", "GPTQ-Int4", "GPTQ-Int8")),
        *_line("Qwen2.5-Coder", [(f"Qwen2.5-Coder-{s}", "2024-09-19" if s in ("1.5B", "7B") else "2024-11-12", "qwen2", s,
                                  "qr" if s == "3B" else "a") for s in ("0.5B", "1.5B", "3B", "7B", "14B", "32B")],
               chat="Instruct", quants=("GGUF", "AWQ"), appeal=0.7),
        *_line("Qwen2.5-Math", [(f"Qwen2.5-Math-{s}", "2024-09-19", "qwen2", s, "q" if s == "72B" else "a")
                                for s in ("1.5B", "7B", "72B")], chat="Instruct", quants=(), appeal=0.4),
        *_line("Qwen2.5-VL", [(f"Qwen2.5-VL-{s}", "2025-01-26", "qwen2_5_vl", s, "qr" if s == "3B" else "q" if s == "72B" else "a")
                              for s in ("3B", "7B", "72B")], chat="Instruct", quants=("AWQ",), pipeline="image-text-to-text",
               appeal=0.7),
        RootSpec("Qwen/QwQ-32B-Preview", "2024-11-27", "qwen2", "32B", "apache-2.0", None, "Qwen/Qwen2.5-32B-Instruct",
                 "finetune", 1.0, t, "QwQ"),
        RootSpec("Qwen/QwQ-32B", "2025-03-05", "qwen2", "32B", "apache-2.0", None, "Qwen/Qwen2.5-32B", "finetune", 2.0, t, "QwQ"),
        RootSpec("Qwen/QwQ-32B-GGUF", "2025-03-05", "qwen2", "32B", "apache-2.0", None, "Qwen/QwQ-32B", "quantized", 0.08, t, "QwQ"),
        RootSpec("Qwen/QwQ-32B-AWQ", "2025-03-05", "qwen2", "32B", "apache-2.0", None, "Qwen/QwQ-32B", "quantized", 0.08, t, "QwQ"),
    ]
    for s, arch in (("0.6B", "qwen3"), ("1.7B", "qwen3"), ("4B", "qwen3"), ("8B", "qwen3"), ("14B", "qwen3"),
                    ("32B", "qwen3"), ("30B-A3B", "qwen3_moe"), ("235B-A22B", "qwen3_moe")):
        w = _SIZE_WEIGHT.get(s, 1.0) * 1.8
        base = RootSpec(f"Qwen/Qwen3-{s}-Base", "2025-04-29", arch, s, "apache-2.0", weight=w * 0.5, generation="Qwen3")
        post = RootSpec(f"Qwen/Qwen3-{s}", "2025-04-29", arch, s, "apache-2.0", None, base.id, "finetune", w, t, "Qwen3")
        roots += [base, post] + [RootSpec(f"{post.id}-{q}", "2025-04-29", arch, s, "apache-2.0", None, post.id,
                                          "quantized", 0.08, t, "Qwen3") for q in ("GGUF", "AWQ", "FP8")]
    roots += [
        RootSpec("Qwen/Qwen3-Embedding-0.6B", "2025-06-05", "qwen3", "0.6B", "apache-2.0", None, "Qwen/Qwen3-0.6B-Base",
                 "finetune", 1.0, "feature-extraction", "Qwen3"),
        RootSpec("Qwen/Qwen3-30B-A3B-Instruct-2507", "2025-07-29", "qwen3_moe", "30B-A3B", "apache-2.0", None,
                 "Qwen/Qwen3-30B-A3B", "finetune", 2.0, t, "Qwen3"),
        RootSpec("Qwen/Qwen3-4B-Instruct-2507", "2025-08-06", "qwen3", "4B", "apache-2.0", None, "Qwen/Qwen3-4B",
                 "finetune", 2.4, t, "Qwen3"),
        RootSpec("Qwen/Qwen3-Coder-30B-A3B-Instruct", "2025-07-31", "qwen3_moe", "30B-A3B", "apache-2.0", weight=1.6,
                 generation="Qwen3-Coder"),
        RootSpec("Qwen/Qwen3-Next-80B-A3B-Instruct", "2025-09-11", "qwen3_next", "80B", "apache-2.0", weight=0.8,
                 generation="Qwen3-Next"),
        RootSpec("Qwen/Qwen3-VL-8B-Instruct", "2025-10-14", "qwen3_vl", "8B", "apache-2.0", weight=1.8,
                 pipeline="image-text-to-text", generation="Qwen3-VL"),
    ]
    for s, arch in (("0.8B", "qwen3"), ("4B", "qwen3"), ("9B", "qwen3"), ("27B", "qwen3"), ("35B-A3B", "qwen3_moe")):
        w = _SIZE_WEIGHT.get(s, 1.5) * 2.2
        base = RootSpec(f"Qwen/Qwen3.5-{s}-Base", "2026-02-16", arch, s, "apache-2.0", weight=w * 0.4, generation="Qwen3.5")
        post = RootSpec(f"Qwen/Qwen3.5-{s}", "2026-02-16", arch, s, "apache-2.0", None, base.id, "finetune", w, t, "Qwen3.5")
        roots += [base, post, RootSpec(f"{post.id}-GGUF", "2026-02-16", arch, s, "apache-2.0", None, post.id,
                                       "quantized", 0.08, t, "Qwen3.5")]
    return [replace(r, family="qwen") for r in roots]


def notable_qwen_derivatives() -> list[RootSpec]:
    """Popular non-Qwen-org models of the Qwen family that attract many derivatives of their own."""
    return [RootSpec(f"deepseek-ai/DeepSeek-R1-Distill-Qwen-{s}", "2025-01-20", "qwen2", s, "mit", None, base,
                     "finetune", 2.2, "text-generation", "Qwen2.5", "deepseek")
            for s, base in (("1.5B", "Qwen/Qwen2.5-Math-1.5B"), ("7B", "Qwen/Qwen2.5-Math-7B"),
                            ("14B", "Qwen/Qwen2.5-14B"), ("32B", "Qwen/Qwen2.5-32B"))]


#: The family of each other organisation's catalogue models (Google and Microsoft: only Gemma and Phi models).
OTHER_FAMILIES = {"meta-llama": "llama", "mistralai": "mistral", "google": "gemma", "deepseek-ai": "deepseek",
                  "microsoft": "phi"}


def other_roots() -> list[RootSpec]:
    """Roots of other families (for ``--others``), and a few models their organisations publish outside them."""
    def r(i: str, d: str, a: str, s: str, lic: str, w: float, parent: str | None = None, ln: str | None = None,
          family: bool = True) -> RootSpec:
        org = i.split("/")[0]
        return RootSpec(i, d, a, s, lic, ln, parent, "finetune" if parent else None, w, "text-generation",
                        org, OTHER_FAMILIES[org] if family else None)
    return [
        r("meta-llama/Llama-2-7b-hf", "2023-07-18", "llama", "7B", "llama2", 1.5),
        r("meta-llama/Llama-2-7b-chat-hf", "2023-07-18", "llama", "7B", "llama2", 2.0, "meta-llama/Llama-2-7b-hf"),
        r("meta-llama/Llama-2-13b-hf", "2023-07-18", "llama", "13B", "llama2", 0.8),
        r("meta-llama/Meta-Llama-3-8B", "2024-04-18", "llama", "8B", "llama3", 2.0),
        r("meta-llama/Meta-Llama-3-8B-Instruct", "2024-04-18", "llama", "8B", "llama3", 3.0, "meta-llama/Meta-Llama-3-8B"),
        r("meta-llama/Llama-3.1-8B", "2024-07-23", "llama", "8B", "llama3.1", 2.0),
        r("meta-llama/Llama-3.1-8B-Instruct", "2024-07-23", "llama", "8B", "llama3.1", 3.5, "meta-llama/Llama-3.1-8B"),
        r("meta-llama/Llama-3.2-1B-Instruct", "2024-09-25", "llama", "1B", "llama3.2", 2.2),
        r("meta-llama/Llama-3.2-3B-Instruct", "2024-09-25", "llama", "3B", "llama3.2", 2.2),
        r("meta-llama/Llama-3.3-70B-Instruct", "2024-12-06", "llama", "70B", "llama3.3", 1.0),
        r("mistralai/Mistral-7B-v0.1", "2023-09-27", "mistral", "7B", "apache-2.0", 2.0),
        r("mistralai/Mistral-7B-Instruct-v0.2", "2023-12-11", "mistral", "7B", "apache-2.0", 2.0),
        r("mistralai/Mistral-7B-Instruct-v0.3", "2024-05-22", "mistral", "7B", "apache-2.0", 1.5),
        r("mistralai/Mixtral-8x7B-Instruct-v0.1", "2023-12-10", "mixtral", "47B", "apache-2.0", 0.8),
        r("mistralai/Mistral-Nemo-Instruct-2407", "2024-07-18", "mistral", "12B", "apache-2.0", 1.2),
        r("mistralai/Mistral-Small-24B-Instruct-2501", "2025-01-30", "mistral", "24B", "apache-2.0", 1.0),
        r("google/gemma-2b", "2024-02-21", "gemma", "2B", "gemma", 1.0),
        r("google/gemma-7b", "2024-02-21", "gemma", "7B", "gemma", 1.0),
        r("google/gemma-2-2b-it", "2024-07-31", "gemma2", "2B", "gemma", 1.5),
        r("google/gemma-2-9b-it", "2024-06-27", "gemma2", "9B", "gemma", 1.5),
        r("google/gemma-3-4b-it", "2025-03-12", "gemma3", "4B", "gemma", 1.8),
        r("google/gemma-3-27b-it", "2025-03-12", "gemma3", "27B", "gemma", 1.2),
        r("deepseek-ai/deepseek-llm-7b-chat", "2023-11-29", "llama", "7B", "other", 0.5, None, "deepseek"),
        r("deepseek-ai/DeepSeek-V3", "2024-12-26", "deepseek_v3", "671B", "mit", 0.6),
        r("deepseek-ai/DeepSeek-R1", "2025-01-20", "deepseek_v3", "671B", "mit", 1.0, "deepseek-ai/DeepSeek-V3"),
        r("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "2025-01-20", "llama", "8B", "mit", 1.2, "meta-llama/Llama-3.1-8B"),
        r("microsoft/Phi-3-mini-4k-instruct", "2024-04-22", "phi3", "3.8B", "mit", 1.2),
        r("microsoft/phi-4", "2024-12-11", "phi3", "14B", "mit", 1.0),
        r("google/flan-t5-base", "2022-10-21", "t5", "0.25B", "apache-2.0", 0.5, family=False),
        r("microsoft/deberta-v3-base", "2022-03-02", "deberta-v2", "0.18B", "mit", 0.4, family=False),
    ]


#: Architectures (and pipelines) of stand-alone models of no family, the surroundings of a world.
STANDALONE_KINDS = (("bert", "fill-mask"), ("roberta", "text-classification"), ("t5", "text2text-generation"),
                    ("whisper", "automatic-speech-recognition"), ("vit", "image-classification"),
                    ("clip", "zero-shot-image-classification"), ("xlm-roberta", "token-classification"),
                    ("gpt2", "text-generation"), ("stable-diffusion", "text-to-image"), ("wav2vec2", "automatic-speech-recognition"))

#: Prolific derivative authors and their share of each relation (real: bartowski, mradermacher, unsloth…).
QUANTIZERS = (("mradermacher", 14), ("bartowski", 8), ("unsloth", 5), ("lmstudio-community", 3), ("QuantFactory", 3),
              ("mlx-community", 0), ("RichardErkhov", 4), ("second-state", 1), ("MaziyarPanahi", 2), ("TheBloke", 0),
              ("legraphista", 1), ("DevQuasar", 1), ("NikolayKozloff", 1), ("tensorblock", 2))

FINETUNE_SUFFIXES = ("sft", "dpo", "orpo", "grpo", "chat", "instruct-v2", "math", "code", "med", "legal", "finance",
                     "roleplay", "zh", "ja", "ko", "it", "de", "function-calling", "reasoning", "r1-distill",
                     "abliterated", "uncensored", "v0.1", "v1", "v2", "alpaca", "lora-merged", "think", "tool-use")
ADAPTER_TASKS = ("alpaca", "sft", "ner", "summarization", "sql", "qa", "medical", "chat", "classification", "rag",
                 "translation", "math", "code", "dpo", "grpo", "kto", "reward")
CREATIVE_WORDS = ("Nova", "Aurora", "Sakura", "Orca", "Hermes", "Dolphin", "Magnum", "Athene", "Tiger", "Falcon",
                  "Llamafied", "Zephyr", "Marco", "Sky", "Open", "Deep", "Light", "Smart", "Tiny", "Mega", "Star",
                  "Luna", "Sol", "Echo", "Neo", "Atlas", "Titan", "Phoenix", "Quill", "Sage", "Vega", "Nexus")
MERGE_METHODS = ("slerp", "ties", "dare_ties", "linear", "task_arithmetic", "model_stock", "della")
GGUF_QUANTS = ("Q4_K_M", "Q5_K_M", "Q8_0", "Q6_K", "Q3_K_M", "Q4_0", "IQ4_XS", "Q2_K", "f16")
PROVIDERS = ("hf-inference", "together", "fireworks-ai", "novita", "nebius", "hyperbolic", "featherless-ai",
             "nscale", "sambanova", "groq", "cerebras", "scaleway")
DRIFT_LICENSES = ("mit", "apache-2.0", "cc-by-nc-4.0", "cc-by-4.0", "gpl-3.0", "llama3", "cc-by-nc-sa-4.0", "wtfpl", "unknown")
#: The five spellings of Qwen licences in real cards (PROFILE.md §D), used for drift in ``license_name``.
QWEN_LICENSE_SPELLINGS = ("tongyi-qianwen", "tongyi-qianwen-research", "tongyi-qianwen-license-agreement", "qwen",
                          "qwen-research")
_SYL = ("ka", "lo", "mi", "ra", "te", "zu", "an", "el", "io", "ne", "sh", "vo", "da", "xi", "ya", "be", "qu", "or")


def user_name(k: int) -> str:
    """A deterministic, pronounceable user name for author number ``k`` (distinct for distinct ``k``)."""
    parts = []
    n = k + len(_SYL) ** 2
    while n:
        parts.append(_SYL[n % len(_SYL)])
        n //= len(_SYL)
    name = "".join(parts)
    if k % 2:
        name = name.capitalize()
    if k % 5 == 0:
        name += str(k % 89)
    elif k % 7 == 0:
        name += "-ai"
    return name
