"""The simulator as a subprocess (``hubtree sim serve``), driven by the official ``huggingface_hub`` client."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError

from tests.support.sim import SAMPLE_WORLD, SimError, running_sim, world_records


@pytest.fixture(scope="module")
def sample_records() -> list[dict[str, Any]]:
    return world_records(SAMPLE_WORLD)


@pytest.fixture(scope="module")
def served() -> Any:
    with running_sim(SAMPLE_WORLD, page_max=200) as sim:
        yield sim


def test_list_models_with_filter_and_expand(served: Any, sample_records: list[dict[str, Any]]) -> None:
    api = HfApi(endpoint=served.url, token=False)
    models = list(api.list_models(filter="qwen2", expand=["tags", "cardData", "createdAt"]))
    expected = {r["id"] for r in sample_records if "qwen2" in r.get("tags", [])}
    assert [m.id for m in models] != [] and {m.id for m in models} == expected
    assert len(models) == len(expected)
    assert all("qwen2" in m.tags and m.created_at is not None for m in models)
    assert served.stats()["by_route"]["hf_list"] >= len(expected) // 200  # it followed the Link pages


def test_model_info_with_base_models(served: Any, sample_records: list[dict[str, Any]]) -> None:
    api = HfApi(endpoint=served.url, token=False)
    record = next(r for r in sample_records if "base_model:Qwen/Qwen2-7B-Instruct" in r.get("tags", []))
    info = api.model_info(record["id"], expand=["baseModels", "downloads"])
    assert info.id == record["id"] and info.downloads == record["downloads"]
    assert info.base_models["models"] == [{"id": "Qwen/Qwen2-7B-Instruct"}]
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("nobody/no-such-model")


def test_sigterm_stops_the_server_cleanly() -> None:
    with running_sim(SAMPLE_WORLD) as sim:
        assert sim.get("/api/models", {"limit": 1}).status == 200
        sim.process.send_signal(signal.SIGTERM)
        assert sim.process.wait(timeout=15) == 0


def test_a_malformed_world_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "hf.jsonl").write_text('{"id": "a/b"}\n{"id": "c/d", \n')
    with pytest.raises(SimError, match="hf.jsonl line 2: invalid JSON"), running_sim(tmp_path):
        pass
    done = subprocess.run([sys.executable, "-m", "hubtree.cli", "sim", "serve", "--world", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "world directory not found" in done.stderr
