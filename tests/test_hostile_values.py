"""Hostile values in records and cards: made storable, bounded, or refused with a reason — never a crash."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from crawler.cards import bound_text, parse_front_matter
from crawler.records import RecordError
from crawler.records_hf import HF_RECORDS, parse_hf
from crawler.records_modelscope import parse_modelscope

#: 350 bytes of YAML that expand to 9^9 strings (the "billion laughs"); stored as JSON it was 2.7 GB.
ALIAS_BOMB = "---\n" + "a: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)) + "---\n"


def test_alias_bomb_is_refused_with_its_reason_in_bounded_memory() -> None:
    # VmHWM is this process's own peak (ru_maxrss would carry the parent's peak over exec on Linux).
    code = ("import re; from crawler.cards import parse_front_matter; "
            f"fm = parse_front_matter({ALIAS_BOMB!r}); "
            "peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1); "
            "print(fm.error, peak)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    reason, peak_kib = out.stdout.rsplit(" ", 1)
    assert "expands beyond" in reason
    assert int(peak_kib) < 200_000  # the interpreter and libraries alone are ~15 MB; expanded it was 2.7 GB


def test_cyclic_and_deep_front_matter_are_refused() -> None:
    assert "deeper than" in parse_front_matter("---\na: &a [*a]\n---\n").error
    assert parse_front_matter("---\nk: " + "[" * 5000 + "]" * 5000 + "\n---\n").error


@pytest.mark.parametrize(("yaml_line", "expected"), [
    ("x: !!binary aGVsbG8=", {"x": "aGVsbG8="}),
    ("s: !!set {b, a}", {"s": ["a", "b"]}),
    ("d: 2024-01-02", {"d": "2024-01-02"}),
    ("t: 2024-01-02T03:04:05Z", {"t": "2024-01-02T03:04:05+00:00"}),
    ("1: one", {"1": "one"}),
    ("2024-01-01: x", {"2024-01-01": "x"}),
    ("true: t", {"true": "t"}),
    ("n: .nan", {"n": None}),
    ("big: 123456789012345678901234567890", {"big": "123456789012345678901234567890"}),
    ('z: "a\\0b"', {"z": "ab"}),
])
def test_values_json_cannot_hold_are_converted(yaml_line: str, expected: dict) -> None:
    fm = parse_front_matter(f"---\n{yaml_line}\nbase_model: Qwen/Qwen2-7B\n---\n")
    assert fm.error is None and fm.data == {**expected, "base_model": "Qwen/Qwen2-7B"}
    orjson.dumps(fm.data)  # storable as it is


def test_card_text_loses_nuls_and_invalid_utf8() -> None:
    assert bound_text("a\x00b\ud800c") == ("ab?c", False)


def _hf(**extra) -> dict:
    return {"id": "org/m", "tags": ["base_model:Qwen/Qwen2-7B"], "createdAt": "2024-01-01T00:00:00.000Z", **extra}


def test_counters_beyond_64_bits_are_nulled_with_a_note() -> None:
    parsed = parse_hf(_hf(downloads=2**64 - 1, downloadsAllTime=1.8e19, likes=5))
    assert (parsed.row["downloads"], parsed.row["downloads_all_time"], parsed.row["likes"]) == (None, None, 5)
    assert len(parsed.notes) == 2 and "64-bit" in parsed.notes[0]
    ms = parse_modelscope({"id": "org/m", "downloads": 2**70, "likes": 1})
    assert ms.row["downloads"] is None and ms.notes


def test_nul_in_an_id_is_quarantined_and_elsewhere_removed() -> None:
    with pytest.raises(RecordError, match="NUL"):
        parse_hf(_hf(id="org/m\x00x"))
    parsed = parse_hf(_hf(tags=["license:mit\x00", "base_model:Qwen/Qwen2-7B"], cardData={"k": "v\x00"}))
    assert parsed.row["license"] == "mit" and parsed.row["card_data"] == {"k": "v"}
    assert [e.parent_raw for e in parsed.edges] == ["Qwen/Qwen2-7B"]
    assert {n.split(":")[0] for n in parsed.notes} == {"license", "tags", "cardData"}


def test_future_dates_are_nulled_with_a_note() -> None:
    parsed = parse_hf(_hf(createdAt="9999-12-31T00:00:00.000Z", lastModified=datetime.now().isoformat()))
    assert parsed.row["created_at"] is None and parsed.row["last_modified"] is not None
    assert parsed.notes == ["created_at 9999-12-31T00:00:00 is in the future: stored as NULL"]


def test_oversized_card_data_is_not_kept() -> None:
    parsed = parse_hf(_hf(cardData={"base_model": "Qwen/Qwen2-7B", "blob": "x" * 400_000}))
    assert parsed.row["card_data"] is None and "larger than" in parsed.notes[0]
    assert [e.parent_raw for e in parsed.edges] == ["Qwen/Qwen2-7B"]  # the tag still declares it


def _page_with_one_unstorable(store_url: str) -> None:
    """A value the parser let through but the store refuses: that record alone is quarantined, the page commits."""
    from crawler.ingest import write_page
    from crawler.store import Model, Quarantine, open_store

    def parse(raw: Any):
        parsed = parse_hf(raw)
        if parsed.id == "org/bad":
            parsed.row["downloads"] = 2**64 + 5  # as if a check were missing: beyond every integer column
        return parsed

    store = open_store(store_url)
    result = write_page(store, "hf", [_hf(id="org/a"), _hf(id="org/bad"), _hf(id="org/c")], run_id=None,
                        reader=dataclasses.replace(HF_RECORDS, parse=parse))
    with store.engine.connect() as conn:
        stored = set(conn.execute(select(Model.id)).scalars())
        quarantined = conn.execute(select(Quarantine.key, Quarantine.kind, Quarantine.reason)).all()
    store.engine.dispose()
    assert stored == {"org/a", "org/c"} and (result.records, result.quarantined) == (2, 1)
    assert [(k, kind) for k, kind, _ in quarantined] == [("org/bad", "record")]
    assert quarantined[0].reason.startswith("cannot be stored: ")


def test_a_record_the_sqlite_store_refuses_is_quarantined_alone(tmp_path) -> None:
    _page_with_one_unstorable(f"sqlite:///{tmp_path / 'store.db'}")


def test_a_record_the_postgresql_store_refuses_is_quarantined_alone(pg_url) -> None:
    _page_with_one_unstorable(pg_url)
