"""The after-listing steps choose their models in the database (``crawler.family``): declared bases resolve to the
stored model they name in any case — never to one of two ids that differ only in case, and with Python's case
folding beyond ASCII — and the family's roots, members and undeclared models are those the rules name, on SQLite
and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawler.families import default_family
from crawler.family import MISSING, family_of, resolve_edges
from crawler.ingest import write_page
from crawler.store.db import open_store
from crawler.store.schema import Edge


def _model(model_id: str, *, author: str | None = None, arch: str | None = None, tags: tuple[str, ...] = (),
           base: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": model_id, "tags": [*tags, *([f"base_model:finetune:{base}"] if base else [])]}
    if author is not None:
        record["author"] = author
    if arch is not None:
        record["config"] = {"model_type": arch}
    return record


PAGE = [
    _model("Qwen/Qwen2.5-7B", author="Qwen", arch="qwen2"),
    _model("QWEN/Upper-Case-Org", author="QWEN", arch="qwen2"),  # a root organisation in another case
    _model("alice/ft", arch="qwen2", base="qwen/QWEN2.5-7b"),  # the root named in another case
    _model("alice/ft-of-ft", arch="qwen2", base="alice/ft"),
    _model("twins/Model", arch="llama"),
    _model("Twins/model", arch="llama"),
    _model("carol/ambiguous", arch="llama", base="TWINS/MODEL"),  # two stored ids in that case: never guessed
    _model("Ünïcode/Base", arch="llama"),
    _model("dave/folded", arch="llama", base="üNÏCODE/base"),  # Python folds the case beyond ASCII, SQLite does not
    _model("erin/missing", arch="qwen2", base="Qwen/Not-Stored"),  # a root organisation's base not in the store
    _model("frank/vision", arch="llava", tags=("qwen2_vl",)),  # a family architecture by its tag only
    _model("grace/near-miss", arch="llama", tags=("qwenish", "qwen2-like")),  # tags that only begin like one
    _model("heidi/plain", arch="qwen3"),  # a family architecture without a declared base
    _model("ivan/other", arch="mistral"),
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_bases_resolve_in_any_case_and_the_family_is_what_the_rules_name(backend: str, tmp_path: Path,
                                                                         request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}" if backend == "sqlite" else request.getfixturevalue("pg_url")
    store = open_store(url)
    write_page(store, "hf", PAGE, run_id=None)

    counts = resolve_edges(store, "hf")

    e = Edge.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        edges = {child: (parent, status, reason) for child, parent, status, reason in conn.execute(
            select(e.c.child, e.c.parent, e.c.status, e.c.reason).where(e.c.hub == "hf"))}
    assert edges == {
        "alice/ft": ("Qwen/Qwen2.5-7B", "resolved", "case normalised from qwen/QWEN2.5-7b"),
        "alice/ft-of-ft": ("alice/ft", "resolved", None),
        "carol/ambiguous": (None, "unresolved", MISSING),
        "dave/folded": ("Ünïcode/Base", "resolved", "case normalised from üNÏCODE/base"),
        "erin/missing": (None, "unresolved", MISSING),
    }
    assert counts == {"case_normalised": 2, "missing": 2, "re_resolved": 0}
    assert resolve_edges(store, "hf") == {"case_normalised": 0, "missing": 0, "re_resolved": 0}  # idempotent

    family = family_of(store, "hf", (default_family(),))
    assert family.roots == {"Qwen/Qwen2.5-7B", "QWEN/Upper-Case-Org"}
    assert family.members == {"alice/ft", "alice/ft-of-ft", "erin/missing"}
    assert family.undeclared == {"frank/vision", "heidi/plain"}
    store.engine.dispose()
