"""Model families: one definition, read once from a table, passed to the crawl, the graph and every analysis.

A family is its root organisations (optionally only their repos whose name matches a pattern: Google and
Microsoft publish much besides Gemma and Phi), the architecture tags of models that belong to it but declare no
base, the name terms that seed a listing, and how a repo name reads as a generation. The built-in table is
``crawler/families.toml``; a user's TOML file in the same format adds families or changes keys of built-in ones
(``--families-file PATH`` or ``$HUBTREE_FAMILIES``). Format and definitions: docs/families.md.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILTIN_TABLE = Path(__file__).with_name("families.toml")
#: Environment variable naming a user's families file.
FAMILIES_ENV = "HUBTREE_FAMILIES"
#: The family a command uses when none is given.
DEFAULT_FAMILY = "qwen"
_KEYS = {"label", "orgs", "pattern", "architectures", "search", "generations", "architecture_generations"}


class FamilyError(ValueError):
    """A family name that is not in the table, or a families file that cannot be used (one-line message)."""


@dataclass(frozen=True, slots=True)
class Family:
    """One family of models; :meth:`is_root` is the one root test everything uses."""

    name: str  # the table key, lower case: "qwen"
    label: str  # for people: "Qwen"
    orgs: tuple[str, ...]
    pattern: str | None = None
    architectures: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    generations: tuple[tuple[str, str], ...] = ()  # (label, regex on the repo name), first match wins
    architecture_generations: tuple[tuple[str, str], ...] = ()
    _compiled: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    org_set: frozenset[str] = field(init=False, compare=False, repr=False)  # the orgs, lower case
    architecture_set: frozenset[str] = field(init=False, compare=False, repr=False)  # likewise

    def __post_init__(self) -> None:
        object.__setattr__(self, "org_set", frozenset(o.lower() for o in self.orgs))  # frozen: set once, here
        object.__setattr__(self, "architecture_set", frozenset(a.lower() for a in self.architectures))

    def owns(self, owner: str | None) -> bool:
        """Whether ``owner`` is one of the family's root organisations (any case)."""
        return (owner or "").lower() in self.org_set

    def name_matches(self, model_id: str) -> bool:
        """Whether the repo name (after the ``/``) matches the family's root pattern (always, without one)."""
        if self.pattern is None:
            return True
        return self._regex("pattern", self.pattern).search(model_id.rsplit("/", 1)[-1]) is not None

    def is_root(self, author: str | None, model_id: str) -> bool:
        """A root: a model of a root organisation (the id's owner when the author is unknown) matching the pattern."""
        return self.owns(author or model_id.split("/", 1)[0]) and self.name_matches(model_id)

    def has_architecture(self, architecture: str | None) -> bool:
        return (architecture or "").lower() in self.architecture_set

    def generation(self, model_id: str, architecture: str | None = None) -> str | None:
        """The generation a repo name spells (``Qwen2.5-Coder``, ``Llama-3.1``…), else what the architecture
        implies, else None. Matching is case-insensitive on the repo name with ``_`` read as ``-``."""
        name = model_id.rsplit("/", 1)[-1].replace("_", "-")
        for label, pattern in self.generations:
            if self._regex(label, pattern).search(name):
                return label
        return dict(self.architecture_generations).get((architecture or "").lower())

    def _regex(self, key: str, pattern: str) -> re.Pattern[str]:
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = re.compile(pattern, re.IGNORECASE)
        return found

    def to_json(self) -> dict[str, Any]:
        """The definition as published in JSON outputs (the ``definitions`` of ``analyze families``)."""
        return {"name": self.name, "label": self.label, "orgs": list(self.orgs), "pattern": self.pattern,
                "architectures": list(self.architectures), "search": list(self.search),
                "generations": [list(g) for g in self.generations]}


def _strings(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise FamilyError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _family(name: str, spec: Mapping[str, Any], where: str) -> Family:
    """A :class:`Family` from one table entry; every key checked, every regex compiled."""
    unknown = set(spec) - _KEYS
    if unknown:
        raise FamilyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_KEYS))})")
    orgs = _strings(where, "orgs", spec.get("orgs"))
    pattern = spec.get("pattern")
    if pattern is not None and not isinstance(pattern, str):
        raise FamilyError(f"{where}: pattern must be a string")
    rows = spec.get("generations", [])
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) for x in r)
                                             for r in rows):
        raise FamilyError(f"{where}: generations must be a list of [label, regex] pairs")
    arch_gen = spec.get("architecture_generations", {})
    if not isinstance(arch_gen, dict) or not all(isinstance(v, str) for v in arch_gen.values()):
        raise FamilyError(f"{where}: architecture_generations must be a table of architecture = \"generation\"")
    for regex in ([pattern] if pattern else []) + [r[1] for r in rows]:
        try:
            re.compile(regex)
        except re.error as exc:
            raise FamilyError(f"{where}: invalid regex {regex!r}: {exc}") from None
    label = spec.get("label", name)
    if not isinstance(label, str) or not label.strip():
        raise FamilyError(f"{where}: label must be a non-empty string")
    return Family(name=name, label=label.strip(), orgs=orgs, pattern=pattern or None,
                  architectures=_strings(where, "architectures", spec.get("architectures", [])),
                  search=_strings(where, "search", spec.get("search", [])),
                  generations=tuple((a, b) for a, b in rows),
                  architecture_generations=tuple((k.lower(), v) for k, v in arch_gen.items()))


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise FamilyError(f"families file {path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FamilyError(f"families file {path}: not valid TOML: {exc}") from None
    table = data.get("families")
    if set(data) - {"families"} or not isinstance(table, dict):
        raise FamilyError(f"families file {path}: expected only [families.<name>] tables")
    for name, spec in table.items():
        if not isinstance(spec, dict):
            raise FamilyError(f"families file {path}: families.{name} must be a table")
    return table


def load_families(path: str | Path | None = None) -> dict[str, Family]:
    """The families table: the built-in families, then those of ``path`` (default ``$HUBTREE_FAMILIES``).

    A user entry with a built-in name replaces only the keys it gives; a new name needs ``orgs``. Names are
    case-insensitive (stored lower case). Raises :class:`FamilyError` with a one-line message.
    """
    user = path if path is not None else os.environ.get(FAMILIES_ENV) or None
    if user is None:
        return dict(_load(None, 0.0))
    user_path = Path(user).expanduser().resolve()
    try:
        stamp = user_path.stat().st_mtime
    except OSError:
        raise FamilyError(f"families file {user_path}: no such file") from None
    return dict(_load(user_path, stamp))


@functools.lru_cache(maxsize=8)
def _load(user_path: Path | None, stamp: float) -> dict[str, Family]:
    """The table for one user file as of its modification time ``stamp`` (parsed once per process)."""
    specs: dict[str, dict[str, Any]] = {name.lower(): dict(spec) for name, spec in _read(BUILTIN_TABLE).items()}
    sources = {name: str(BUILTIN_TABLE) for name in specs}
    if user_path is not None:
        for name, spec in _read(user_path).items():
            key = name.lower()
            if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", key):
                raise FamilyError(f"families file {user_path}: family name {name!r} must be letters, digits, . _ -")
            specs[key] = {**specs.get(key, {}), **spec}
            sources[key] = str(user_path)
    return {name: _family(name, spec, f"families file {sources[name]}: families.{name}") for name, spec in specs.items()}


def get_family(name: str | None = None, path: str | Path | None = None) -> Family:
    """The family called ``name`` (any case; default :data:`DEFAULT_FAMILY`); FamilyError names the known ones."""
    table = load_families(path)
    key = (name or DEFAULT_FAMILY).strip().lower()
    if key not in table:
        raise FamilyError(f"unknown family {name!r}; known families: {', '.join(table)} "
                          f"(add one in a families file: --families-file or ${FAMILIES_ENV})")
    return table[key]


def select_families(names: str | Iterable[str] | None = None, path: str | Path | None = None) -> list[Family]:
    """Families by name (a comma-separated string or names; default: every family of the table), in the order given."""
    table = load_families(path)
    if names is None:
        return list(table.values())
    wanted = [n.strip() for n in (names.split(",") if isinstance(names, str) else names) if n.strip()]
    if not wanted:
        raise FamilyError("no family named (give names such as qwen,llama)")
    unknown = [n for n in wanted if n.lower() not in table]
    if unknown:
        raise FamilyError(f"unknown family {unknown[0]!r}; known families: {', '.join(table)} "
                          f"(add one in a families file: --families-file or ${FAMILIES_ENV})")
    return [table[n] for n in dict.fromkeys(n.lower() for n in wanted)]


def default_family() -> Family:
    """The built-in default family (what a command uses without ``--family``; a user's file does not change it)."""
    return _load(None, 0.0)[DEFAULT_FAMILY]


def builtin_architectures() -> frozenset[str]:
    """Architecture tags of every built-in family (the record parser recognises them as tags)."""
    specs = _read(BUILTIN_TABLE)
    return frozenset(a.lower() for spec in specs.values() for a in spec.get("architectures", []))
