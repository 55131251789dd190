"""The one-way flow hub → crawler → store → analysis → reports, read from the imports of every module (ast), so it
cannot drift. Notebooks, tests, bench/ and scripts/ may import anything and are not checked."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "analysis", "hubsim", "hubtree")

#: Importer (a package or module; the longest prefix that matches applies) → the first-party modules it may import
#: (each with everything below it).
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    # the crawler never looks downstream
    "crawler": ("crawler",),
    # hub clients: HTTP and hub rules only, nothing of Scrapy or the store
    "crawler.hubs": ("crawler.hubs", "crawler.config"),
    # analyses read the store through its schema and use the crawler's parsers and definitions (and its collector
    # schedule for bulk jobs); never a module that writes (pipelines, ingest, runner, spiders, family, mirrors, ...),
    # never the simulator or the CLI
    "analysis": ("analysis", "crawler.store", "crawler.config", "crawler.lock", "crawler.runs", "crawler.cards",
                 "crawler.lineage", "crawler.licenses", "crawler.families", "crawler.gc_policy"),
    # the simulator stands for the hubs: it knows nothing of what crawls it
    "hubsim": ("hubsim",),
    # ... except the demo world, which crawls the sample into a store
    "hubsim.demo": ("hubsim", "crawler.runs", "crawler.store"),
    # evaluation against generated truth builds stores and runs the analyses on them
    "hubsim.eval": ("hubsim", "crawler", "analysis"),
    # the CLI parses arguments and prints; the library does the work
    "hubtree": ("hubtree", "crawler", "analysis", "hubsim"),
}

#: Importer → first-party modules it must not import although its MAY_IMPORT row covers them (the crawl's write verbs).
MUST_NOT_IMPORT: dict[str, tuple[str, ...]] = {
    "analysis": ("crawler.store.crawl",),
}

#: Importer → third-party packages it must not use.
MUST_NOT_USE: dict[str, tuple[str, ...]] = {
    "crawler.hubs": ("scrapy", "sqlalchemy", "sqlmodel"),
    "analysis": ("scrapy",),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = REPO.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports(path: Path, module: str) -> list[tuple[int, str]]:
    """``(line, name)`` of every import in the file of ``module``, at any depth (``from a import b`` names ``a.b``
    when that is a module); relative imports resolved."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            for a in node.names:
                name = f"{base}.{a.name}" if base else a.name
                out.append((node.lineno, name if _is_module(name) else base))
    return out


def _rule(table: dict[str, tuple[str, ...]], module: str) -> tuple[str, ...]:
    matches = [key for key in table if module == key or module.startswith(key + ".")]
    return table[max(matches, key=len)] if matches else ()


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def test_every_package_imports_only_what_its_layer_may():
    broken = []
    for path in _modules():
        me = _module_name(path)
        allowed, refused, banned = _rule(MAY_IMPORT, me), _rule(MUST_NOT_IMPORT, me), _rule(MUST_NOT_USE, me)
        for line, name in imports(path, me):
            first_party = name.split(".")[0] in PACKAGES
            if (first_party and (not _within(name, allowed) or _within(name, refused))) \
                    or (not first_party and _within(name, banned)):
                broken.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert not broken, "imports against the layering (MAY_IMPORT / MUST_NOT_IMPORT / MUST_NOT_USE):\n" + "\n".join(broken)


def test_no_command_module_imports_another():
    commands = sorted((REPO / "hubtree").glob("cmd_*.py"))
    assert len(commands) >= 8
    broken = [f"{path.relative_to(REPO)}:{line} imports {name}" for path in commands
              for line, name in imports(path, _module_name(path)) if name.startswith("hubtree.cmd_")]
    assert not broken, "a cmd_* module parses and prints; shared code goes to a library module:\n" + "\n".join(broken)


def test_the_check_sees_a_violation(tmp_path):
    """The reader finds an import inside a function and a relative one, and the table forbids them."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from hubsim import world\n\nfrom .. import hubtree\n", encoding="utf-8")
    assert sorted(name for _, name in imports(probe, "analysis.probe")) == ["hubsim.world", "hubtree"]
    assert not _within("hubsim.world", _rule(MAY_IMPORT, "analysis.probe"))
    assert not _within("crawler.pipelines", _rule(MAY_IMPORT, "analysis.report.make"))
    assert _within("crawler.store.db", _rule(MAY_IMPORT, "analysis.report.make"))
    assert _within("crawler.store.crawl", _rule(MUST_NOT_IMPORT, "analysis.report.make"))
    assert _within("analysis.inference", _rule(MAY_IMPORT, "hubsim.eval.inference"))
    assert not _within("analysis.graph", _rule(MAY_IMPORT, "hubsim.server"))
    assert _within("scrapy", _rule(MUST_NOT_USE, "crawler.hubs.hf"))
