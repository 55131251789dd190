"""``hubtree graph``: ancestors, descendants, family, path, tree, export, stats, infer-eval."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from crawler.families import DEFAULT_FAMILY
from hubtree.errors import EXIT_USAGE, CliError, friendly_errors
from hubtree.options import DbOption, FamiliesFileOption, FamilyOption, JsonOption, checked
from hubtree.terminal import printable_line, rich_cell

app = typer.Typer(no_args_is_help=True)

ModelArg = Annotated[str, typer.Argument(help="Model id, e.g. Qwen/Qwen2.5-7B-Instruct.")]
InferredOption = Annotated[bool, typer.Option("--include-inferred", help="Also follow inferred edges (flagged).")]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Rebuild the graph instead of using the disk cache.")]
DepthOption = Annotated[int | None, typer.Option("--depth", min=1, help="Stop after this many levels.")]
HubOption = Annotated[str | None, typer.Option("--hub", help="List only models present on this hub (hf|modelscope).")]


def _graph(db: str | None, include_inferred: bool, no_cache: bool) -> Any:
    from analysis.graph import open_graph

    return open_graph(db, include_inferred=include_inferred, use_cache=not no_cache)


def _emit(data: Any) -> None:
    """``--json``: the answer as the lineage service encodes it (:func:`analysis.lineage_json.dumps`), indented."""
    from analysis.lineage_json import dumps

    try:
        text = dumps(data, pretty=True)
    except ValueError as exc:
        raise CliError(f"{exc}; ask for fewer levels (--depth)", EXIT_USAGE) from None
    sys.stdout.buffer.write(text + b"\n")
    sys.stdout.flush()


def _print_models(result: dict[str, Any], title: str, limit: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{title} of {rich_cell(result['id'])}: {result['count']} models", title_justify="left")
    for col in ("depth", "id", "relation", "parents", "hubs"):
        table.add_column(col, overflow="fold")
    for m in result["models"][:limit]:
        rel = m["relation"] + (f" (inferred, {m['rule']}, {m['confidence']})" if m["inferred"] else "")
        table.add_row(str(m["depth"]), rich_cell(m["id"]), rich_cell(rel), rich_cell(", ".join(m["parents"])),
                      ",".join(m["hubs"]))
    console = Console()
    console.print(table)
    if result["count"] > limit:
        console.print(f"… {result['count'] - limit} more (use --limit or --json)")


LimitOption = Annotated[int, typer.Option("--limit", min=1, help="Rows shown in the table (JSON lists all).")]


@app.command("descendants")
@friendly_errors
def descendants_cmd(model: ModelArg, relation: Annotated[str | None, typer.Option(
        "--relation", help="Comma-separated relations to list (finetune,adapter,quantized,merge); all are traversed.")]
        = None, depth: DepthOption = None, hub: HubOption = None, include_inferred: InferredOption = False,
        limit: LimitOption = 50, db: DbOption = None, json_out: JsonOption = False, no_cache: NoCacheOption = False,
        ) -> None:
    """Every model derived from MODEL (any depth), with relation, depth and parents."""
    from analysis.graph import descendants
    from analysis.lineage_json import check_hub, relations_filter

    hub, rels = checked("--hub", check_hub, hub), checked("--relation", relations_filter, relation)
    g = _graph(db, include_inferred, no_cache)
    result = descendants(g, model, relations=rels, depth=depth, hub=hub, include_inferred=include_inferred)
    _emit(result) if json_out else _print_models(result, "Descendants", limit)


@app.command("ancestors")
@friendly_errors
def ancestors_cmd(model: ModelArg, depth: DepthOption = None, hub: HubOption = None,
                  include_inferred: InferredOption = False, limit: LimitOption = 50, db: DbOption = None,
                  json_out: JsonOption = False, no_cache: NoCacheOption = False) -> None:
    """Every model MODEL derives from, up to the roots."""
    from analysis.graph import ancestors
    from analysis.lineage_json import check_hub

    hub = checked("--hub", check_hub, hub)
    g = _graph(db, include_inferred, no_cache)
    result = ancestors(g, model, depth=depth, hub=hub, include_inferred=include_inferred)
    _emit(result) if json_out else _print_models(result, "Ancestors", limit)


@app.command("family")
@friendly_errors
def family_cmd(model: ModelArg, include_inferred: InferredOption = False, db: DbOption = None,
               json_out: JsonOption = False, no_cache: NoCacheOption = False, family_name: FamilyOption = DEFAULT_FAMILY,
               families_file: FamiliesFileOption = None) -> None:
    """The root base model(s) of MODEL, its generation, and its depth below the nearest root; "official" roots are
    those of --family, whose table names the generations."""
    from analysis.graph import family
    from crawler.families import get_family

    fam = get_family(family_name, families_file)
    g = _graph(db, include_inferred, no_cache)
    result = family(g, model, include_inferred=include_inferred, of=fam)
    if json_out:
        return _emit(result)
    typer.echo(printable_line(result["id"]))
    typer.echo(f"  generation: {result['generation'] or 'unknown'}   depth: {result['depth']}")
    for r in result["root_details"]:
        typer.echo(f"  root: {printable_line(r['id'])}  ({r['generation'] or '?'}, {'official' if r['official'] else 'not official'}, "
                   f"{r['depth']} below)")


@app.command("path")
@friendly_errors
def path_cmd(a: Annotated[str, typer.Argument(help="From this model.")],
             b: Annotated[str, typer.Argument(help="To this model.")], include_inferred: InferredOption = False,
             db: DbOption = None, json_out: JsonOption = False, no_cache: NoCacheOption = False) -> None:
    """The lineage path between two models (down, up, or through a common relative)."""
    from analysis.graph import path

    g = _graph(db, include_inferred, no_cache)
    result = path(g, a, b, include_inferred=include_inferred)
    if json_out:
        return _emit(result)
    if result["kind"] == "none":
        typer.echo(f"no lineage path between {printable_line(result['from'])} and {printable_line(result['to'])}")
        return None
    typer.echo(f"{printable_line(result['from'])}  ({result['kind']}, {result['length']} steps)")
    for s in result["steps"]:
        arrow = "↓" if s["direction"] == "child" else "↑"
        typer.echo(f"  {arrow} {printable_line(s['id'])}  [{s['relation']}{', inferred' if s['inferred'] else ''}]")


def _tree_lines(root: dict[str, Any]) -> list[str]:
    """The tree as indented lines (iterative: a chain thousands of levels deep prints like a short one)."""
    lines: list[str] = []
    stack: list[tuple[dict[str, Any], str, bool, bool]] = [(root, "", True, True)]
    while stack:
        node, prefix, last, top = stack.pop()
        if "more_line" in node:
            lines.append(node["more_line"])
            continue
        counts = " · ".join(f"{k} {v}" for k, v in node["counts"].items())
        label = printable_line(node["id"]) + (f" ({node['relation']})" if node["relation"] else "")
        label += f"  [{counts}; {node['below']} below]" if counts else ""
        lines.append(label if top else f"{prefix}{'└── ' if last else '├── '}{label}")
        child_prefix = "" if top else prefix + ("    " if last else "│   ")
        kids = node["children"]
        follow = [(c, child_prefix, i == len(kids) - 1 and not node["more"], False) for i, c in enumerate(kids)]
        if node["more"]:
            follow.append(({"more_line": f"{child_prefix}└── … {node['more']} more"}, "", True, False))
        stack.extend(reversed(follow))
    return lines


@app.command("tree")
@friendly_errors
def tree_cmd(model: ModelArg, depth: Annotated[int, typer.Option("--depth", min=1, help="Levels shown.")] = 2,
             max_children: Annotated[int, typer.Option("--max-children", min=1, help="Children shown per node.")] = 15,
             include_inferred: InferredOption = False, db: DbOption = None, json_out: JsonOption = False,
             no_cache: NoCacheOption = False) -> None:
    """An indented model tree under MODEL with counts of direct children per relation at each node."""
    from analysis.graph import tree

    g = _graph(db, include_inferred, no_cache)
    result = tree(g, model, depth=depth, max_children=max_children, include_inferred=include_inferred)
    _emit(result) if json_out else typer.echo("\n".join(_tree_lines(result)))


@app.command("export")
@friendly_errors
def export_cmd(
    fmt: Annotated[str, typer.Option("--format", help="graphml or gexf (one file: networkx, Gephi, Cytoscape); "
                                     "parquet or csv (OUT is a directory with nodes.* and edges.*).")],
    out: Annotated[Path, typer.Option("--out", help="File (graphml, gexf) or directory (parquet, csv) to write.")],
    family_name: Annotated[str | None, typer.Option("--family", help="Only this family's roots and derivatives "
                                                    "(default: every model).")] = None,
    include_inferred: InferredOption = False, db: DbOption = None, json_out: JsonOption = False,
) -> None:
    """Write the lineage graph for other tools: nodes with hub, family, generation, licence, downloads, created;
    edges parent → child with relation, declared or inferred, rule and confidence."""
    from analysis.export import FORMATS, export_frames, write_export
    from crawler.store import open_existing_store

    if fmt not in FORMATS:
        raise CliError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}", EXIT_USAGE)
    nodes, edges = export_frames(open_existing_store(db), family=family_name, include_inferred=include_inferred)
    files = write_export(nodes, edges, fmt, out)
    summary = {"format": fmt, "nodes": nodes.height, "edges": edges.height,
               "inferred_edges": int(edges["inferred"].sum()), "files": [str(f) for f in files]}
    if json_out:
        return _emit(summary)
    typer.echo(f"{summary['nodes']:,} models and {summary['edges']:,} edges "
               f"({summary['inferred_edges']:,} inferred) → {', '.join(summary['files'])}")


@app.command("stats")
@friendly_errors
def stats_cmd(include_inferred: InferredOption = False,
              top: Annotated[int, typer.Option("--top", min=1, help="Families and authors listed.")] = 10,
              db: DbOption = None, json_out: JsonOption = False, no_cache: NoCacheOption = False,
              family_name: FamilyOption = DEFAULT_FAMILY, families_file: FamiliesFileOption = None) -> None:
    """Nodes, edges per relation, depth histogram, largest families, top authors, declared vs inferred parents,
    and the roots, members and undeclared models of --family."""
    from analysis.graph import graph_stats
    from crawler.families import get_family

    chosen = get_family(family_name, families_file)
    g = _graph(db, True, no_cache)  # inferred edges are always computed, and counted apart unless asked
    s = graph_stats(g, include_inferred=include_inferred, top=top, family=chosen)
    if json_out:
        return _emit(s)
    fam = s["family"]
    typer.echo(f"models: {s['nodes']:,} (hf {s['hubs']['hf']:,}, modelscope {s['hubs']['modelscope']:,}, "
               f"on both {s['hubs']['both']:,}); in lineage: {s['in_lineage']:,}")
    typer.echo("edges" + (" (declared + inferred)" if include_inferred else " (declared)") + ": "
               + ", ".join(f"{k} {v:,}" for k, v in s["edges"].items()))
    typer.echo("inferred edges (apart): " + ", ".join(f"{k} {v:,}" for k, v in s["inferred_edges"].items()))
    p = s["parents"]
    typer.echo(f"parents: declared {p['declared']:,}, inferred only {p['inferred_only']:,}, none {p['none']:,}")
    typer.echo(f"family {fam['label']} ({'/'.join(fam['root_authors'])}): roots {fam['roots']:,}, members {fam['members']:,}, "
               f"undeclared family-architecture models {fam['undeclared']:,} "
               f"({fam['undeclared_with_inferred_parent']:,} with an inferred parent)")
    typer.echo("depth histogram: " + ", ".join(f"{d}: {c:,}" for d, c in s["depth_histogram"].items()))
    typer.echo("largest families:")
    for f in s["families"]:
        typer.echo(f"  {f['size']:>8,}  {f['root']}  ({f['generation'] or '?'})")
    typer.echo("top derivative authors: " + ", ".join(f"{a['author']} {a['models']:,}" for a in s["top_authors"]))
    u = s["unresolved"]
    typer.echo(f"left out: {u['edges']:,} unresolved edges ("
               + ", ".join(f"{k} {v:,}" for k, v in sorted(u["reasons"].items(), key=lambda x: -x[1])) + ")")
    typer.echo(f"repaired: {s['self_loops']} self-loops, {s['cycles_broken']} cycles broken, "
               f"{s['mirrors_merged']} mirrors merged")


@app.command("infer-eval")
@friendly_errors
def infer_eval_cmd(
    world: Annotated[list[Path] | None, typer.Option("--world", help="World directory (hf.jsonl[.gz], optional "
                                                     "_truth/); repeat for several. Default: data/sample.")] = None,
    sets: Annotated[list[str] | None, typer.Option("--set", help="A real evaluation set of the repository (sample, "
                                                   "deepseek-trees, atlas-cards, atlas-annotated, leaderboard) or "
                                                   "all; repeat for several. Run from the repository root.")] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds over declared edges.")] = 5,
    doc: Annotated[Path | None, typer.Option("--doc", help="Also write the figures into this markdown file "
                                             "(between the figure markers of docs/inference.md).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Measure inference: hide declared parents fold by fold, infer them back, report precision and recall
    (family and exact parent, per family, per rule, per confidence level; docs/inference.md)."""
    from hubsim.eval.inference import evaluate_world, render_markdown, summary_table, update_doc
    from hubsim.eval.real_sets import evaluate_sets

    worlds = world or ([] if sets else [Path("data/sample")])
    for w in worlds:
        if not w.is_dir():
            raise CliError(f"no world directory at {w}")
    try:
        results = evaluate_sets(Path("."), sets, folds=folds) if sets else []
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    results += [evaluate_world(w, folds=folds) for w in worlds]
    if doc is not None:
        update_doc(doc, *results, summary=not worlds and "all" in (sets or []))
    if json_out:
        _emit(results[0] if len(results) == 1 else results)
    else:
        parts = [render_markdown(r) for r in results]
        typer.echo("\n\n".join([summary_table(results), *parts] if len(results) > 1 else parts))
