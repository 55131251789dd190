"""Generated nodes → Hugging Face records in the shape of ``GET /api/models/{id}`` (plus ``readme``)."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from typing import Any

from hubsim import gen_cards
from hubsim.gen_catalog import (
    ARCH_CLASS,
    DRIFT_LICENSES,
    GGUF_QUANTS,
    MERGE_METHODS,
    PROVIDERS,
    QWEN_LICENSE_SPELLINGS,
)
from hubsim.gen_tree import END, FLOOR_CREATED, TYPED_TAGS_SINCE, Node

#: ``wrong`` subtypes: how a declared base differs from the true parent.
WRONG_KINDS = ("local_path", "typo", "wrong_case", "self", "ancestor", "cycle", "hub_url")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)B")
_LIB = {"transformers": "transformers", "gguf": "gguf", "mlx": "mlx", "peft": "peft", "merge": "transformers",
        "awq": "transformers", "gptq": "transformers", "bnb": "transformers", "exl2": "transformers",
        "fp8": "transformers"}
_FMT_TAGS = {"gguf": ["gguf"], "mlx": ["mlx", "safetensors"], "awq": ["safetensors", "4-bit", "awq"],
             "gptq": ["safetensors", "4-bit", "gptq"], "bnb": ["safetensors", "4-bit", "bitsandbytes"],
             "exl2": ["safetensors", "exl2"], "fp8": ["safetensors", "fp8"], "peft": ["safetensors"],
             "merge": ["safetensors", "mergekit", "merge"], "transformers": ["safetensors"]}
_LANGS = (("en",), ("en",), ("en",), ("en", "zh"), ("zh",), ("en",), ("ja",), ("en", "ko"))


_DAYS: dict[int, str] = {}


def wrong_kind(dirt: list[str]) -> str:
    """The ``wrong`` subtype among a node's dirt labels."""
    return next(d for d in dirt if d in WRONG_KINDS)


def iso(ts: int) -> str:
    """``2024-06-07T22:42:31.000Z`` as the Hub writes dates."""
    day, sec = divmod(ts, 86400)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
    return f"{prefix}{sec // 3600:02d}:{sec % 3600 // 60:02d}:{sec % 60:02d}.000Z"


def params_of(size: str) -> int:
    """Parameter count from a size label (``7B`` → 7.6e9, ``30B-A3B`` → 30.5e9, ``1_8B`` → 1.8e9)."""
    m = _SIZE.search(size.replace("_", "."))
    value = float(m.group(1)) if m else 1.0
    return int(value * 1.0887e9)


class RecordMaker:
    """Builds records; holds the world's nodes to name parents and the rng for per-record choices."""

    def __init__(self, rng: random.Random, nodes: list[Node], first_child: dict[int, int],
                 huge: set[int], none_card_share: float = 0.4, other_card_share: float = 0.15, end: int = END):
        self.rng, self.nodes, self.first_child, self.huge, self.end = rng, nodes, first_child, huge, end
        self.none_card_share, self.other_card_share = none_card_share, other_card_share

    # --- lineage as declared -------------------------------------------------------------------------
    def declared_bases(self, n: Node) -> list[str]:
        """The base ids the record states (possibly wrong), in card order."""
        nodes, parents = self.nodes, [self.nodes[p].id for p in n.parents]
        if n.kind != "wrong":
            return parents
        sub = wrong_kind(n.dirt)
        true = parents[0]
        if sub == "local_path":
            return [self.rng.choice((f"/root/output/{true.split('/')[-1]}", f"./models/{true.split('/')[-1].lower()}",
                                     f"/home/user/checkpoints/{true.split('/')[-1]}/checkpoint-1000"))]
        if sub == "typo":
            owner, name = true.split("/", 1)
            i = max(1, len(name) // 2)
            return [f"{owner}/{name[:i]}{name[i + 1:]}"]  # one character dropped
        if sub == "wrong_case":
            return [true.lower() if true != true.lower() else true.upper()]
        if sub == "self":
            return [n.id]
        if sub == "ancestor":
            return [nodes[nodes[n.parents[0]].parents[0]].id]
        if sub == "cycle":
            return [nodes[self.first_child[n.idx]].id]
        return [f"https://huggingface.co/{true}"]  # hub_url

    def lineage_tags(self, n: Node, bases: list[str], relation: str) -> list[str]:
        """``base_model:`` tags as the Hub adds them (none when the Hub could not resolve the base)."""
        if n.kind in ("none", "card") or not bases:
            return []
        if n.kind == "wrong" and wrong_kind(n.dirt) in ("local_path", "typo", "self", "hub_url"):
            return []
        tags = [f"base_model:{b}" for b in bases]
        if n.kind == "untyped":
            return tags
        if "relation_mislabel" in n.dirt:
            relation = "finetune"
        return tags + [f"base_model:{relation}:{b}" for b in bases]

    # --- licence ----------------------------------------------------------------------------------------
    def license_of(self, n: Node) -> tuple[str | None, str | None]:
        """``(license, license_name)``: inherited from the root, or drifted."""
        root = self.nodes[n.root].spec
        if n.spec is not None:
            return n.spec.license, n.spec.license_name
        base = (root.license, root.license_name) if root else ("apache-2.0", None)
        r = self.rng.random()
        if r < 0.60:
            return base
        if r < 0.85:
            return None, None  # dropped
        if r < 0.93:
            return self.rng.choice(("mit", "apache-2.0")), None  # switched to permissive
        if r < 0.98 and base[0] == "other":
            return "other", self.rng.choice(QWEN_LICENSE_SPELLINGS)
        return self.rng.choice(DRIFT_LICENSES), None

    # --- the record -------------------------------------------------------------------------------------
    def record(self, n: Node) -> dict[str, Any]:
        rng, nodes = self.rng, self.nodes
        spec = n.spec
        relation = n.relation or "finetune"
        official = spec is not None
        has_parent = bool(n.parents)
        bases = self.declared_bases(n) if has_parent and n.kind != "none" else []
        lib = _LIB[n.fmt] if n.group != "standalone" else "transformers"
        created = n.created
        if n.group == "standalone" and rng.random() < 0.08:
            created = FLOOR_CREATED
        if n.kind == "untyped":
            modified = min(created + int(rng.expovariate(1 / 3e5)), TYPED_TAGS_SINCE - 60)
            modified = max(modified, created)
        else:
            modified = created + int(rng.expovariate(1 / 4e5)) + (rng.random() < 0.1) * int(rng.random() * 2e7)
            if has_parent and n.kind in ("typed", "wrong") and created < TYPED_TAGS_SINCE:
                modified = max(modified, TYPED_TAGS_SINCE + int(rng.random() * 5e6))
        modified = min(max(modified, created), self.end)
        lic, lic_name = self.license_of(n)
        # Declarations live in cards, so every declaring record has one; undeclared ones sometimes.
        has_card = (official or (has_parent and n.kind != "none")
                    or rng.random() < (self.none_card_share if n.family else self.other_card_share))
        langs = list(rng.choice(_LANGS))
        pipeline = None if n.fmt == "peft" and rng.random() < 0.6 else n.pipeline
        card_data: dict[str, Any] | None = None
        readme: str | None = None
        if has_card:
            card_data = {}
            if bases and n.kind not in ("card",):
                card_data["base_model"] = bases if len(bases) > 1 else bases[0]
                if relation == "merge" or rng.random() < 0.3:
                    card_data["base_model_relation"] = relation
            card_data["library_name"] = lib
            if lic:
                card_data["license"] = lic
                if lic_name:
                    card_data["license_name"] = lic_name
                    root = nodes[n.root]
                    card_data["license_link"] = f"https://huggingface.co/{root.id}/blob/main/LICENSE"
            card_data["language"] = langs
            if pipeline:
                card_data["pipeline_tag"] = pipeline
            extra = {"peft": ["lora", "sft", "trl"], "merge": ["mergekit", "merge"], "gguf": ["llama-cpp", "gguf-my-repo"]}
            card_data["tags"] = extra.get(n.fmt, ["chat"] if n.fmt == "transformers" else [n.fmt])
            readme = self._readme(n, card_data, bases, lic_name)
        if "invalid_yaml" in n.dirt:
            card_data = None  # the Hub cannot read the front matter: no cardData, no tags from it
        tags = self._tags(n, lib, pipeline, langs, self.lineage_tags(n, bases, relation), lic, card_data)
        rec: dict[str, Any] = {
            "_id": f"{max(created, 0):08x}{(n.idx * 2654435761) % (1 << 64):016x}",
            "id": n.id, "modelId": n.id, "author": n.author,
            "sha": f"{rng.getrandbits(160):040x}",
            "lastModified": iso(modified), "createdAt": iso(created),
            "private": False, "disabled": False,
            "gated": ("manual" if official and n.author in ("meta-llama", "google") else
                      "auto" if rng.random() < 0.01 else False),
            "pipeline_tag": pipeline, "library_name": lib, "tags": tags,
        }
        if pipeline is None:
            del rec["pipeline_tag"]
        rec.update(self._metrics(n, created))
        if card_data is not None:
            rec["cardData"] = card_data
        self._files(n, rec, readme is not None)
        if official and spec is not None and spec.weight >= 1.2 and rng.random() < 0.5 or rng.random() < 0.0008:
            provs = rng.sample(PROVIDERS, rng.randint(1, 4))
            rec["inference"] = "warm"
            rec["inferenceProviderMapping"] = {
                p: {"status": "live", "providerId": f"{n.id.split('/')[-1].lower()}", "task": "conversational"}
                for p in sorted(provs)}
        rec["spaces"] = [f"{n.author}/{n.id.split('/')[-1][:20]}-demo"] if official and rng.random() < 0.6 else []
        if readme is not None:
            rec["readme"] = readme
        return rec

    def _metrics(self, n: Node, created: int) -> dict[str, Any]:
        rng = self.rng
        scale = ({"quantized": 40, "finetune": 25, "adapter": 6, "merge": 15}.get(n.relation or "", 30)
                 if n.spec is None else 20000 * n.spec.weight)
        downloads = int(min(3e7, (rng.paretovariate(1.05) - 1.0) * scale))
        age_months = max(1.0, (END - created) / 2.6e6)
        all_time = downloads + int(downloads * age_months * (0.3 + rng.random()))
        likes = int((downloads ** 0.55) * rng.random() * 0.4)
        return {"downloads": downloads, "downloadsAllTime": all_time, "likes": likes,
                "trendingScore": int(likes * rng.random() * 0.1)}

    def _tags(self, n: Node, lib: str, pipeline: str | None, langs: list[str], lineage: list[str],
              lic: str | None, card_data: dict[str, Any] | None) -> list[str]:
        rng = self.rng
        tags = [lib] if lib != "gguf" else []
        tags += _FMT_TAGS.get(n.fmt, [])
        if n.fmt not in ("gguf", "peft"):
            tags.append(n.arch)
        if pipeline:
            tags.append(pipeline)
        if n.fmt == "gguf":
            tags += ["llama-cpp", "gguf-my-repo"] if rng.random() < 0.3 else ["imatrix"] if rng.random() < 0.3 else []
        if n.fmt == "peft":
            tags += ["lora", "trl", "sft"] if rng.random() < 0.5 else ["lora"]
        if pipeline == "text-generation" and n.group != "standalone":
            tags.append("conversational")
        if card_data is not None:
            tags += langs
        tags += lineage
        if lic and card_data is not None:
            tags.append(f"license:{lic}")
        if lib == "transformers" and pipeline == "text-generation":
            tags += ["autotrain_compatible", "text-generation-inference"] if rng.random() < 0.7 else []
        if lib in ("transformers", "peft") and rng.random() < 0.75:
            tags.append("endpoints_compatible")
        deploy_p = 0.4 if n.spec is not None else 0.006
        if rng.random() < deploy_p:
            tags.append("deploy:azure")
        if rng.random() < deploy_p * 0.7:
            tags.append("deploy:sagemaker")
        tags.append("region:us" if rng.random() < 0.998 else "region:eu")
        return tags

    def _files(self, n: Node, rec: dict[str, Any], has_readme: bool) -> None:
        """``siblings``, ``config``, ``gguf``, ``safetensors`` per format."""
        rng, fmt, name = self.rng, n.fmt, n.id.split("/")[-1]
        files = [".gitattributes"]
        if has_readme:
            files.append("README.md")
        total = params_of(n.size)
        config = {"architectures": [ARCH_CLASS.get(n.arch, "AutoModel")], "model_type": n.arch}
        if fmt == "gguf":
            files += [f"{name.replace('-GGUF', '')}.{q}.gguf" for q in rng.sample(GGUF_QUANTS, rng.randint(1, 5))]
            rec["gguf"] = {"total": total, "architecture": n.arch, "context_length": 32768,
                           "bos_token": "<|endoftext|>", "eos_token": "<|im_end|>"}
        elif fmt == "peft":
            files += ["adapter_config.json", "adapter_model.safetensors", "tokenizer_config.json"]
        else:
            shards = max(1, total // 4_000_000_000)
            files += ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"]
            files += ([f"model-{i:05d}-of-{shards:05d}.safetensors" for i in range(1, shards + 1)]
                      + ["model.safetensors.index.json"] if shards > 1 else ["model.safetensors"])
            if fmt == "merge" and rng.random() < 0.6:
                files.append("mergekit_config.yml")
            if fmt in ("awq", "gptq"):
                config["quantization_config"] = {"quant_method": fmt, "bits": 4}
                files.append("quantize_config.json" if fmt == "gptq" else "quant_config.json")
            if fmt == "exl2":
                files.append("measurement.json")
            rec["config"] = config
            if fmt in ("transformers", "merge"):
                rec["safetensors"] = {"parameters": {"BF16": total}, "total": total}
        rec["siblings"] = [{"rfilename": f} for f in files]

    def _readme(self, n: Node, card_data: dict[str, Any], bases: list[str], lic_name: str | None) -> str:
        rng = self.rng
        true_parents = [self.nodes[p].id for p in n.parents]
        lang = card_data.get("language", ["en"])[0]
        text = gen_cards.body(rng, n.id, n.relation, true_parents, mention_base=rng.random() < 0.5,
                              built_with_qwen=n.family and (lic_name == "qwen" or rng.random() < 0.05),
                              merge_method=rng.choice(MERGE_METHODS) if n.relation == "merge" and rng.random() < 0.7
                              else None, language=lang)
        if n.idx in self.huge:
            text += gen_cards.huge_appendix(rng)
        if n.kind == "card":
            second = {"base_model": true_parents if len(true_parents) > 1 else true_parents[0]}
            if "invalid_yaml" in n.dirt:
                return gen_cards.invalid({**card_data, **second}) + text
            return gen_cards.stacked(card_data, second) + text
        return gen_cards.front_matter(card_data) + text
