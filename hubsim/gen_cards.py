"""Model-card text for generated records: YAML front matter that parses back to ``cardData``, and a body.

The front matter is emitted by hand (PyYAML's dumper is too slow for a million cards); every value is either a
safe plain scalar or a JSON string, which YAML reads identically.
"""

from __future__ import annotations

import random
import re
from typing import Any

import orjson

_PLAIN = re.compile(r"^[A-Za-z][\w./+-]*$")
_YAML_WORDS = {"yes", "no", "true", "false", "on", "off", "null", "y", "n"}
HUGE_CARD_BYTES = 300 * 1024

_DEPLOY_LINES = (
    "Deploy it on Alibaba Cloud Model Studio (百炼 / DashScope): `https://dashscope.aliyuncs.com/compatible-mode/v1`.",
    "One-click deployment is available on Alibaba Cloud PAI-EAS and in the PAI Model Gallery.",
    "You can deploy this model to Amazon SageMaker (also listed in SageMaker JumpStart).",
    "Available in Google Cloud Vertex AI Model Garden.",
    "Deploy on Azure AI Foundry with the one-click deployment button.",
    "Served by Together AI and Fireworks through their OpenAI-compatible APIs.",
)
_ZH = "这是一个基于通义千问的微调模型，适用于中文对话、问答和文本生成任务。"
_JA = "このモデルは日本語の指示追従性能を向上させるために微調整されました。"


def _scalar(value: Any) -> str:
    if isinstance(value, str) and _PLAIN.match(value) and value.lower() not in _YAML_WORDS:
        return value
    return orjson.dumps(value).decode()


def front_matter(data: dict[str, Any]) -> str:
    """YAML front matter (with ``---`` lines) whose ``yaml.safe_load`` equals ``data``."""
    lines = ["---"]
    for key, value in data.items():
        if isinstance(value, list):
            if not value:
                lines.append(f"{key}: []")
                continue
            lines.append(f"{key}:")
            lines.extend(f"- {_scalar(v)}" for v in value)
        else:
            lines.append(f"{key}: {_scalar(value)}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def mergekit_yaml(parents: list[str], method: str) -> str:
    """A mergekit configuration as merge cards show it."""
    models = "\n".join(f"  - model: {p}\n    parameters:\n      weight: {round(1 / len(parents), 2)}" for p in parents)
    return (f"```yaml\nmodels:\n{models}\nmerge_method: {method}\nbase_model: {parents[0]}\n"
            f"dtype: bfloat16\n```\n")


def body(rng: random.Random, model_id: str, relation: str | None, parents: list[str], *, mention_base: bool,
         built_with_qwen: bool, merge_method: str | None, language: str) -> str:
    """The Markdown body of a card."""
    name = model_id.split("/")[-1]
    out = [f"\n# {name}\n"]
    if mention_base and parents:
        verb = {"quantized": "Quantized version of", "adapter": "A LoRA adapter for", "merge": "A merge of"}.get(
            relation or "", "Fine-tuned from")
        out.append(f"{verb} {', '.join(f'[{p}](https://huggingface.co/{p})' for p in parents)}.\n")
    else:
        out.append("This model was trained with our own recipe on a curated instruction dataset.\n")
    if language == "zh":
        out.append(_ZH + "\n")
    elif language == "ja":
        out.append(_JA + "\n")
    if merge_method is not None:
        out.append("## Merge details\nThis model was merged using [mergekit](https://github.com/arcee-ai/mergekit).\n")
        out.append(mergekit_yaml(parents, merge_method))
    if rng.random() < 0.12:
        out.append("## Deployment\n" + rng.choice(_DEPLOY_LINES) + "\n")
    if built_with_qwen:
        out.append("Built with Qwen.\n")
    out.append("## Usage\n```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n"
               f'model = AutoModelForCausalLM.from_pretrained("{model_id}")\n```\n')
    return "\n".join(out)


def huge_appendix(rng: random.Random) -> str:
    """A benchmark table long enough to push a card past 256 KB."""
    rows = [f"| task-{i} | {rng.random():.4f} | {rng.random():.4f} | {rng.random():.4f} |" for i in range(7000)]
    text = "\n## Full evaluation\n| task | acc | acc_norm | stderr |\n|---|---|---|---|\n" + "\n".join(rows)
    while len(text.encode()) < HUGE_CARD_BYTES:
        text += "\n" + "\n".join(rows[:1000])
    return text


def stacked(first: dict[str, Any], second: dict[str, Any]) -> str:
    """Two front-matter blocks one after the other, as some training tools write them."""
    return front_matter(first) + front_matter(second)


def invalid(data: dict[str, Any]) -> str:
    """Front matter that does not parse (an unclosed flow sequence), still naming the base in the text."""
    return front_matter(data).replace("---\n", "---\ntags: [unclosed, \n", 1)
