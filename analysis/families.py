"""Families side by side: roots, derivatives by relation, undeclared and inferred members, downloads, monthly
shares of new derivatives and organisation totals, for every listed family in one pass over the store.

Membership (docs/families.md): a family's *roots* are the models of its root organisations whose repo name matches
its pattern (:meth:`crawler.families.Family.is_root`); its *derivatives* are the models reachable from a root
through declared edges, at any depth, roots excluded. A declared base that names a root-organisation repo missing
from the store (deleted, renamed, private, outside a partial crawl) still makes the model a derivative; the base is
listed in ``unresolved_bases``. A model can belong to several families (a merge across families, DeepSeek's
distills of Qwen): it is counted in each and listed in ``shared_models``. Mirrors are one graph node, counted once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from analysis import frames
from analysis.growth import model_relations
from analysis.inference import (
    DEFAULT_THRESHOLD,
    FamilyJoins,
    Inference,
    family_counts,
    inferred_lineage,
    owner_labels,
    params_by_node,
)
from analysis.lineage_build import (
    build_graph,
    build_graph_rows,
    load_models,
    node_frame,
    primary_frame,
)
from analysis.lineage_graph import _NO_DATE, HUB_BITS, Labels, LineageGraph
from analysis.lineage_queries import traverse
from analysis.months import month_end, month_name, month_of, month_range
from crawler.config import HUBS
from crawler.families import Family, FamilyError, get_family, select_families
from crawler.gc_policy import rare_collections
from crawler.lineage import normalise_base
from crawler.store.db import Store
from crawler.store.schema import Model

#: The relations a derivative is counted under (one per derivative: ``analysis.growth.model_relations``).
RELATIONS_SHOWN = ("finetune", "adapter", "quantized", "merge")
SHARED_LIST = 50  # models in several families listed in the JSON (most downloaded first)

#: The published counts hubtree's figures are read next to (docs/families.md, "How hubtree's count relates to the
#: published ones").
PUBLISHED = (
    "Hugging Face counts, per publishing organisation, every model whose declared model tree leads to one of the "
    "organisation's models: 113K+ Qwen-derived models by mid-2025, against about 27K for Llama and 6K for DeepSeek "
    "(hubtree's 'organisations' rows count that way).",
    "The Qwen team reported 'more than 180,000 derivatives' in January 2026 (its method is not published; it likely "
    "includes models hubtree only infers).",
    "The ATOM report gives each family's share of the new derivatives of a month, counting derivatives with more "
    "than 5 downloads (Qwen from about 1 % in January 2024 to about 69 % in February 2026): hubtree's monthly "
    "'share' with --min-downloads 6.",
)


class UnknownFamilyError(LookupError):
    """The store holds no root of the requested family (crawl first, or pick another family)."""


@dataclass(slots=True)
class StoreView:
    """What one pass over the store gives every family: the graph and per-node columns."""

    graph: LineageGraph
    owners: Labels  # lower-case owner per node (author, else the id's owner)
    architectures: Labels  # lower-case architecture per node ("" when unknown)
    declares: np.ndarray  # bool: the model declares at least one base (resolved or not)
    relation: np.ndarray  # per node: index into RELATIONS_SHOWN, -1 without a declared base
    downloads: np.ndarray  # int64 per node (a mirrored model: both hubs' downloads)
    outside: pl.DataFrame  # declared bases that are not a model of the graph: node, base (id), relation
    data_end: datetime | None  # where the data end: the earliest hub's newest createdAt / lastModified
    params: np.ndarray | None = None  # exact parameter counts (analysis.inference.params_by_node; None: not read)
    inferences: list[Inference] | None = None  # confident inferences (None: not computed)
    threshold: float = DEFAULT_THRESHOLD
    alive: np.ndarray | None = None  # bool per node: created by ``as_of`` (None: every model)

    def reach(self, start: np.ndarray) -> np.ndarray:
        """Bool mask of the models reachable downwards from ``start`` through declared edges."""
        mask = np.zeros(self.graph.n_nodes, bool)
        if start.size:
            mask[traverse(self.graph, start, "down").nodes] = True
        return mask


@rare_collections()
def load_view(store: Store, *, graph: LineageGraph | None = None, families: Sequence[Family] = (),
              threshold: float | None = None, as_of: datetime | None = None, metrics: bool = True,
              edges: pl.DataFrame | None = None) -> StoreView:
    """Read the store once: the declared graph, edges, downloads, and — when ``threshold`` is given — the
    inferences of at least that confidence for the models of ``families`` (one inference pass for all of them,
    :func:`with_inferences`). Without ``metrics`` (membership only) relations, downloads and the data's end are
    not read. ``edges``: :func:`analysis.frames.edges` of the store, when the caller has read them.

    With ``as_of`` the families are counted as they stood then (:func:`view_as_of`).
    """
    m = Model.__table__  # type: ignore[attr-defined]
    models = None
    # the inference pass's parameter counts come with the scan (a store may predate the column)
    sizes = ("params",) if metrics and "params" in frames.column_names(store, "model") else ()
    all_edges = edges if edges is not None else frames.edges(store)  # one scan for the graph and the view
    if graph is None and metrics:  # and one of the models
        models = frames.table(store, Model, ("hub", "id", "author", "created_at", "architecture", "downloads",
                                             "last_modified", *sizes), scan_where=m.c.deleted_at.is_(None))
        graph, row_nodes = build_graph_rows(store, models, edges=all_edges)
        keys = models.select("hub", "id").with_columns(pl.Series("node", row_nodes))  # node_frame(graph)'s rows
    else:  # membership only: the graph's narrow model columns
        graph = graph if graph is not None else build_graph(store, edges=all_edges)
        row_nodes = None
        keys = node_frame(graph)
    n = graph.n_nodes
    edges = all_edges.join(keys.rename({"id": "child"}), on=["hub", "child"], how="inner")
    declares = np.zeros(n, bool)
    declares[edges["node"].to_numpy()] = True
    relation = np.full(n, -1, np.int8)
    if metrics:
        rel = (model_relations(edges.drop("node")).join(keys, on=["hub", "id"], how="inner")
               .sort(["node", "hub"]).unique("node", keep="first"))
        codes = rel["relation"].replace_strict({r: i for i, r in enumerate(RELATIONS_SHOWN)}, default=0,
                                               return_dtype=pl.Int8)
        relation[rel["node"].to_numpy()] = codes.to_numpy()
    named = edges["parent"].drop_nulls().unique().implode()  # a few parents: hash them, not every model's key
    live = (keys.filter(pl.col("id").is_in(named))
            .select("hub", pl.col("id").alias("parent"), pl.lit(True).alias("_live")))
    out = (edges.join(live, on=["hub", "parent"], how="left").filter(pl.col("_live").is_null())
           .select("node", "child", "parent", "parent_raw", "relation"))
    bases = [p if p is not None else normalise_base(raw, child)[0]
             for child, p, raw in out.select("child", "parent", "parent_raw").iter_rows()]
    outside = (out.with_columns(pl.Series("base", bases, dtype=pl.String)).filter(pl.col("base").is_not_null())
               .select("node", "base", "relation"))
    downloads, ends, params = np.zeros(n, np.int64), [], None
    if metrics:
        if models is None:
            models = frames.table(store, Model, ("hub", "id", "downloads", "created_at", "last_modified", *sizes),
                                  scan_where=m.c.deleted_at.is_(None))
        if row_nodes is None:  # the caller's graph: its models' rows found by id
            row_nodes = models.select("hub", "id").join(keys, on=["hub", "id"], how="left",
                                                        maintain_order="left")["node"].fill_null(-1).to_numpy()
        counted = row_nodes >= 0
        np.add.at(downloads, row_nodes[counted], models["downloads"].fill_null(0).to_numpy()[counted])
        newest = models.group_by("hub").agg(pl.max_horizontal(pl.col("created_at").max(),
                                                              pl.col("last_modified").max()))
        ends = [v for v in newest.to_series(1).to_list() if v is not None]
        if sizes:
            params = params_by_node(graph, models["params"].fill_null(0).to_numpy(), row_nodes)
    data_end = min(ends) if ends else None  # a hub crawled earlier bounds what the store can say
    del models, all_edges  # not held through the inference pass
    architectures = graph.architecture.mapped(lambda a: (a or "").lower())
    view = StoreView(graph, owner_labels(graph), architectures, declares, relation, downloads, outside, data_end,
                     params)
    if threshold is not None:
        view = with_inferences(store, view, families, threshold)
    return view_as_of(view, as_of) if as_of is not None else view


def lineage_models(store: Store, family: Family, *, edges: pl.DataFrame | None = None,
                   columns: Sequence[str] = ()) -> pl.DataFrame:
    """The live models the lineage of ``family`` can hold (:func:`analysis.lineage_build.load_models`, with
    ``columns`` too): what declared edges and mirror links reach from its possible roots, from the bases named like
    its roots and from the models declaring them (so a seed is one here as in the whole graph). The other
    families' lineages and the models in none — most of a hub — are never read. ``edges``:
    :func:`analysis.frames.edges` of the store, when the caller has read them."""
    edges = edges if edges is not None else frames.edges(store)
    with store.engine.connect() as conn:
        roots = [(hub, mid) for hub in HUBS for mid, _ in store.models_by_owner(conn, hub, family.org_set)]
    unresolved = edges.filter(pl.col("parent").is_null() & pl.col("parent_raw").is_not_null())
    declared = pl.concat([
        edges.filter(pl.col("parent").is_not_null()).select("hub", "child", "parent", pl.col("parent").alias("base")),
        unresolved.select("hub", "child", "parent", pl.Series("base", [
            normalise_base(raw, child)[0] for raw, child in unresolved.select("parent_raw", "child").iter_rows()],
            dtype=pl.String))])
    named = declared["base"].drop_nulls().unique()
    rooted = declared.filter(pl.col("base").is_in(named.filter(named.map_elements(
        lambda base: family.is_root(None, base), return_dtype=pl.Boolean)).implode()))
    starts = pl.concat([pl.DataFrame(roots, schema={"hub": pl.String, "id": pl.String}, orient="row"),
                        rooted.select("hub", pl.col("child").alias("id")),
                        rooted.filter(pl.col("parent").is_not_null()).select("hub", pl.col("parent").alias("id"))])
    return load_models(store, keys=_reach(starts, edges, frames.mirrors(store)), columns=columns)


def _reach(starts: pl.DataFrame, edges: pl.DataFrame, mirrors: pl.DataFrame) -> pl.DataFrame:
    """The models (hub, id) that declared edges, downwards, and mirror links, both ways, reach from ``starts``."""
    steps = pl.concat([
        edges.filter(pl.col("parent").is_not_null()).select("hub", pl.col("parent").alias("id"),
                                                            pl.col("hub").alias("to_hub"), pl.col("child").alias("to")),
        mirrors.select(pl.lit("modelscope").alias("hub"), pl.col("modelscope_id").alias("id"),
                       pl.lit("hf").alias("to_hub"), pl.col("hf_id").alias("to")),
        mirrors.select(pl.lit("hf").alias("hub"), pl.col("hf_id").alias("id"),
                       pl.lit("modelscope").alias("to_hub"), pl.col("modelscope_id").alias("to"))])
    reached = frontier = starts.unique()
    while frontier.height:
        frontier = (steps.join(frontier, on=["hub", "id"], how="semi")
                    .select(pl.col("to_hub").alias("hub"), pl.col("to").alias("id")).unique()
                    .join(reached, on=["hub", "id"], how="anti"))
        reached = pl.concat([reached, frontier])
    return reached


def lineage_view(store: Store, family: Family, *, edges: pl.DataFrame | None = None,
                 models: pl.DataFrame | None = None) -> StoreView:
    """The membership view (:func:`load_view` without metrics) of the models a lineage can hold
    (:func:`lineage_models`, or ``models`` when the caller has read them). Their nodes are left out of the graph,
    the others keep their order (the store's), so the family's members, generations and depths are the whole
    graph's. ``edges``: :func:`analysis.frames.edges` of the store, when the caller has read them."""
    edges = edges if edges is not None else frames.edges(store)
    models = models if models is not None else lineage_models(store, family, edges=edges)
    return load_view(store, graph=build_graph(store, models=models, edges=edges), metrics=False, edges=edges)


def with_inferences(store: Store, view: StoreView, families: Sequence[Family], threshold: float) -> StoreView:
    """``view`` with the inferences of at least ``threshold`` confidence for the models of ``families`` (one
    inference pass for all of them), kept to the view's models alive at its ``as_of`` if it has one."""
    inferences = inferred_lineage(store, view.graph, threshold=threshold,
                                  root_authors=tuple(dict.fromkeys(o for f in families for o in f.orgs)),
                                  family_architectures=tuple(dict.fromkeys(a for f in families
                                                                           for a in f.architectures)),
                                  owners=view.owners, params=view.params)
    if view.alive is not None:
        inferences = [i for i in inferences if view.alive[i.child]]
    return replace(view, inferences=inferences, threshold=threshold)


def view_as_of(view: StoreView, as_of: datetime) -> StoreView:
    """``view`` as the store stood at ``as_of``: models created later are left out (models deleted since are not
    in the store, as in every analysis: survivor bias), and the data end at ``as_of`` at the latest. The graph and
    columns are shared with ``view``, so one read of the store serves every month."""
    graph = view.graph
    alive = (graph.created <= int(as_of.replace(tzinfo=UTC).timestamp())) | (graph.created == _NO_DATE)
    if view.alive is not None:
        alive &= view.alive
    inferences = None if view.inferences is None else [i for i in view.inferences if alive[i.child]]
    data_end = min(view.data_end, as_of) if view.data_end is not None else None
    return replace(view, alive=alive, data_end=data_end, inferences=inferences)


@dataclass(slots=True)
class Membership:
    """One family's members as bool masks over the graph's nodes."""

    family: Family
    roots: np.ndarray
    derivatives: np.ndarray  # through declared edges (and missing root-organisation bases)
    inferred: dict[str, Any] | None  # analysis.inference.family_counts from the roots (None: not computed)
    undeclared: np.ndarray  # family architecture, no declared base, not a member
    seeds: np.ndarray  # derivatives that declare a root-organisation base missing from the store
    missing_bases: dict[str, int]  # root-organisation base missing from the store → children declaring it

    @property
    def members(self) -> np.ndarray:
        return self.roots | self.derivatives


def root_mask(graph: LineageGraph, family: Family, owners: Labels | None = None) -> np.ndarray:
    """The family's roots (:meth:`Family.is_root`, vectorised): models of its organisations matching its pattern."""
    mask = (owners if owners is not None else owner_labels(graph)).isin(family.org_set)
    if family.pattern is not None:
        for node in np.flatnonzero(mask).tolist():
            mask[node] = family.name_matches(graph.ids[node])
    return mask


def membership(view: StoreView, family: Family, *, with_inferred: bool = True,
               joins: FamilyJoins | None = None) -> Membership:
    """Roots, declared derivatives (any depth), inferred-only derivatives (when the view has inferences and
    ``with_inferred``) and undeclared models of ``family``. ``joins``: the view's inferences laid out for the count
    (:meth:`FamilyJoins.of`), when the caller counts several families."""
    alive = view.alive if view.alive is not None else np.ones(view.graph.n_nodes, bool)
    roots = root_mask(view.graph, family, view.owners) & alive
    hits = view.outside.filter(pl.col("base").map_elements(lambda b: family.is_root(None, b), return_dtype=pl.Boolean))
    seeds = np.zeros(view.graph.n_nodes, bool)
    seeds[hits["node"].to_numpy()] = True
    seeds &= ~roots & alive
    start = np.flatnonzero(roots | seeds)
    derivatives = (view.reach(start) | seeds) & ~roots & alive
    inferred = None
    if view.inferences is not None and with_inferred:
        joins = joins if joins is not None else FamilyJoins.of(view.inferences, view.threshold)
        inferred = family_counts(view.graph, joins, start.tolist(), family.architectures)
    arch = view.architectures.isin(family.architecture_set)
    undeclared = arch & ~roots & ~derivatives & ~view.declares & alive
    missing = hits.filter(pl.col("node").is_in(np.flatnonzero(seeds).tolist())).group_by("base").agg(
        pl.col("node").n_unique().alias("children"))
    return Membership(family, roots, derivatives, inferred, undeclared, seeds,
                      dict(sorted(missing.iter_rows(), key=lambda r: (-r[1], r[0]))))


def family_members(store: Store, family: Family | str, *, view: StoreView | None = None) -> pl.DataFrame:
    """The family as a frame (hub, id, generation, depth): its roots (depth 0) and declared derivatives.

    A derivative's generation is that of the member that first reached it (a root's generation is read from its
    name by the family's table); a child of a missing root-organisation base takes the base's generation (depth 1).
    Raises :class:`UnknownFamilyError` when the store holds no root of ``family`` (FamilyError for an unknown name).
    Without ``view`` the graph is :func:`lineage_view`'s.
    """
    fam = family if isinstance(family, Family) else get_family(family)
    view = view or lineage_view(store, fam)
    graph = view.graph
    mem = membership(view, fam, with_inferred=False)
    roots = np.flatnonzero(mem.roots)
    if roots.size == 0:
        raise UnknownFamilyError(f"no root of the {fam.label} family in the store (models of "
                                 f"{', '.join(fam.orgs)}{' matching ' + repr(fam.pattern) if fam.pattern else ''}): "
                                 "crawl first, or pick another --family")
    gen: dict[int, str | None] = {int(r): fam.generation(graph.ids[r], graph.architecture[r]) for r in roots}
    depth = {int(r): 0 for r in roots}
    _inherit(graph, roots, gen, depth, 0)
    base_of = {node: base for node, base in view.outside.select("node", "base").iter_rows() if fam.is_root(None, base)}
    seeds = [s for s in np.flatnonzero(mem.seeds).tolist() if s not in depth]
    for s in seeds:
        gen[s], depth[s] = fam.generation(base_of[s]), 1
    _inherit(graph, np.array(seeds, np.int64), gen, depth, 1)
    nodes = sorted(gen)
    return primary_frame(graph, nodes).with_columns(
        pl.Series("generation", [gen[x] for x in nodes], dtype=pl.String),
        pl.Series("depth", [depth[x] for x in nodes], dtype=pl.Int64)).select("hub", "id", "generation", "depth")


def _inherit(graph: LineageGraph, start: np.ndarray, gen: dict[int, str | None], depth: dict[int, int],
             offset: int) -> None:
    """Give every model below ``start`` not placed yet the generation of the member that first reached it."""
    if not start.size:
        return
    t = traverse(graph, start, "down")
    for node, d, e in zip(t.nodes.tolist(), t.depth.tolist(), t.via.tolist(), strict=True):
        if node not in depth:
            gen[node] = gen.get(int(graph.parent[e]))
            depth[node] = d + offset


@dataclass(slots=True)
class FamiliesReport:
    """Families side by side (``to_json`` is the ``hubtree analyze families --json`` shape, docs/families.md)."""

    families: list[dict[str, Any]]
    months: pl.DataFrame  # month, family, new, share, cumulative, change, partial
    organisations: list[dict[str, Any]]
    overlaps: list[dict[str, Any]]
    shared_models: list[dict[str, Any]]
    unresolved_bases: list[dict[str, Any]]
    definitions: dict[str, Any]
    data_end: datetime | None
    hubs: dict[str, int]  # models per hub (a mirrored model on each of its hubs)
    settings: dict[str, Any]
    caveats: list[str] = field(default_factory=list)
    view: StoreView | None = field(default=None, repr=False)
    memberships: dict[str, Membership] = field(default_factory=dict, repr=False)

    def models(self, name: str, kind: str) -> pl.DataFrame:
        """The ``roots``, ``derivatives`` or ``undeclared`` models of family ``name``: hub, id, architecture
        (a mirrored model once, under Hugging Face)."""
        if self.view is None:
            raise ValueError("this report keeps no store view")
        graph, mask = self.view.graph, getattr(self.memberships[name], kind)
        nodes = np.flatnonzero(mask)
        return primary_frame(graph, nodes).with_columns(
            pl.Series("architecture", [graph.architecture[n] for n in nodes.tolist()], dtype=pl.String)).select(
            "hub", "id", "architecture")

    @property
    def partial_month(self) -> str | None:
        """The last month when the data end before it does (its counts are not a whole month's)."""
        return partial_month(self.data_end)

    def family(self, name: str) -> dict[str, Any]:
        return next(f for f in self.families if f["name"] == name)

    def to_json(self) -> dict[str, Any]:
        return {"families": self.families, "months": self.months.to_dicts(), "organisations": self.organisations,
                "overlaps": self.overlaps, "shared_models": self.shared_models,
                "unresolved_bases": self.unresolved_bases, "definitions": self.definitions,
                "as_of": self.data_end.isoformat() if self.data_end else None, "partial_month": self.partial_month,
                "hubs": self.hubs,
                "settings": self.settings, "caveats": self.caveats}


def partial_month(data_end: datetime | None) -> str | None:
    """The month of ``data_end`` when the data stop before that month's last day (else None)."""
    if data_end is None:
        return None
    month = month_of(data_end)
    return month if data_end.date() < month_end(month).date() else None


def _months(view: StoreView, members: list[Membership], counted: np.ndarray, data_end: datetime | None,
            since: str | None) -> pl.DataFrame:
    """New derivatives per family and month, each family's share of all listed families' new ones, cumulative
    totals from the first month, and the month-over-month change (never from or to a partial month)."""
    created = view.graph.created
    dated = created != _NO_DATE
    node_month = np.zeros(created.shape, np.int32)  # months since 1970-01, named once per month (3M names took 3.7 s)
    node_month[dated] = created[dated].astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    parts = []
    for mem in members:
        sel = mem.derivatives & counted & dated
        parts.append(pl.DataFrame({"family": mem.family.name, "month": node_month[sel]},
                                  schema={"family": pl.String, "month": pl.Int32}))
    counts = pl.concat(parts).group_by("month", "family").agg(pl.len().cast(pl.Int64).alias("new"))
    schema = {"month": pl.String, "family": pl.String, "new": pl.Int64, "share": pl.Float64, "cumulative": pl.Int64,
              "change": pl.Float64, "partial": pl.Boolean}
    if counts.is_empty():
        return pl.DataFrame(schema=schema)
    names = {n: month_name(n) for n in counts["month"].unique().to_list()}
    counts = counts.with_columns(pl.col("month").replace_strict(names, return_dtype=pl.String))
    last = month_of(data_end) if data_end is not None else counts["month"].max()
    grid = pl.DataFrame({"month": month_range(counts["month"].min(), max(last, counts["month"].max()))}).join(
        pl.DataFrame({"family": [m.family.name for m in members]}), how="cross")
    partial = partial_month(data_end)
    out = (grid.join(counts, on=["month", "family"], how="left").with_columns(pl.col("new").fill_null(0))
           .sort(["family", "month"])
           .with_columns(pl.col("new").cum_sum().over("family").alias("cumulative"),
                         (pl.col("month") == partial if partial else pl.lit(False)).alias("partial"),
                         pl.col("new").shift(1).over("family").alias("_prev"))
           .with_columns(pl.when(pl.col("new").sum().over("month") > 0)
                         .then((pl.col("new") / pl.col("new").sum().over("month")).round(4)).alias("share"),
                         pl.when((pl.col("_prev") > 0) & ~pl.col("partial"))
                         .then(((pl.col("new") - pl.col("_prev")) / pl.col("_prev")).round(4))
                         .otherwise(None).alias("change")))
    order = {m.family.name: i for i, m in enumerate(members)}
    out = out.with_columns(pl.col("family").replace_strict(order, return_dtype=pl.Int32).alias("_o")).sort(
        ["month", "_o"])
    if since is not None:
        out = out.filter(pl.col("month") >= since)
    return out.select(list(schema)).cast(schema)  # type: ignore[arg-type]


def _organisations(view: StoreView, families: Sequence[Family], counted: np.ndarray) -> list[dict[str, Any]]:
    """Derived models per publishing organisation: the membership of a family of the whole organisation (every
    model of the org is a root, no name pattern), Hugging Face's way of counting."""
    out = []
    for org in dict.fromkeys(o for f in families for o in f.orgs):
        mem = membership(view, Family(name=org.lower(), label=org, orgs=(org,)), with_inferred=False)
        out.append({"org": org, "families": [f.name for f in families if f.owns(org)], "models": int(mem.roots.sum()),
                    "derivatives": int((mem.derivatives & counted).sum())})
    return out


def analyse_families(store: Store, families: Sequence[Family] | None = None, *, since: str | None = None,
                     min_downloads: int | None = None, include_inferred: bool = True,
                     threshold: float = DEFAULT_THRESHOLD, as_of: datetime | None = None,
                     view: StoreView | None = None) -> FamiliesReport:
    """Every family of ``families`` (default: the whole table) from one read of the store.

    ``since`` (``YYYY-MM``) bounds the months listed (cumulative totals count from the start); ``min_downloads``
    counts only derivatives (and undeclared / inferred models) with at least that many downloads, ATOM's way;
    ``include_inferred`` adds the ``inferred`` figure: the further models that inferred lineage of at least
    ``threshold`` confidence joins to the family (:func:`analysis.inference.family_counts`; not download-filtered).
    ``as_of`` counts the families as they stood then (:func:`load_view`).
    """
    families = list(families) if families is not None else select_families()
    if not families:
        raise FamilyError("no family to analyse")
    view = view or load_view(store, families=families, threshold=threshold if include_inferred else None, as_of=as_of)
    counted = view.downloads >= min_downloads if min_downloads is not None else np.ones(view.graph.n_nodes, bool)
    joins = FamilyJoins.of(view.inferences, view.threshold) if view.inferences is not None else None
    members = [membership(view, f, joins=joins) for f in families]
    any_root = np.logical_or.reduce([m.roots for m in members])
    for m in members:  # another family's root is that family's own model, not an undeclared derivative
        m.undeclared &= ~any_root
    in_families = np.sum([m.members for m in members], axis=0) if members else np.zeros(view.graph.n_nodes, int)
    rows = []
    for mem in members:
        d = mem.derivatives & counted
        rel = np.bincount(view.relation[d & (view.relation >= 0)], minlength=len(RELATIONS_SHOWN))
        rows.append({"name": mem.family.name, "label": mem.family.label, "orgs": list(mem.family.orgs),
                     "roots": int(mem.roots.sum()), "derivatives": int(d.sum()),
                     "by_relation": {r: int(c) for r, c in zip(RELATIONS_SHOWN, rel, strict=True)},
                     "undeclared": int((mem.undeclared & counted).sum()),
                     "inferred": mem.inferred["inferred"] if mem.inferred is not None else None,
                     "inferred_by_rule": mem.inferred["inferred_by_rule"] if mem.inferred is not None else None,
                     "downloads": int(view.downloads[d].sum()),
                     "shared": int((mem.members & (in_families > 1)).sum()),
                     "unresolved_bases": len(mem.missing_bases),
                     "unresolved_children": int(sum(mem.missing_bases.values()))})
    graph = view.graph
    alive = view.alive if view.alive is not None else np.ones(graph.n_nodes, bool)
    shared = np.flatnonzero(in_families > 1)
    shared = shared[np.argsort(-view.downloads[shared], kind="stable")][:SHARED_LIST]
    shared_rows = [{"id": graph.ids[s], "downloads": int(view.downloads[s]),
                    "families": {m.family.name: "root" if m.roots[s] else "derivative" for m in members
                                 if m.members[s]}} for s in shared.tolist()]
    overlaps = [{"families": [a.family.name, b.family.name], "models": int((a.members & b.members).sum())}
                for i, a in enumerate(members) for b in members[i + 1:] if (a.members & b.members).any()]
    unresolved = [{"family": m.family.name, "base": base, "children": k} for m in members
                  for base, k in m.missing_bases.items()]
    caveats = ["Counts are by declared lineage (base_model tags, card fields); survivor-biased: repos deleted before "
               "a crawl are invisible."]
    if view.inferences is None:
        caveats.append("Inferred lineage was not computed: the 'inferred' figures are null.")
    elif min_downloads is not None:
        caveats.append("The 'inferred' figures count every model inferred lineage joins, whatever its downloads.")
    if partial_month(view.data_end):
        caveats.append(f"The data end on {view.data_end:%Y-%m-%d}: {partial_month(view.data_end)} is a partial "
                       "month, and no month-over-month change is computed from it.")
    return FamiliesReport(
        families=rows, months=_months(view, members, counted, view.data_end, since),
        organisations=_organisations(view, families, counted), overlaps=overlaps, shared_models=shared_rows,
        unresolved_bases=unresolved, definitions={f.name: f.to_json() for f in families}, data_end=view.data_end,
        hubs={hub: int(((graph.present & bit) > 0)[alive].sum()) for hub, bit in HUB_BITS.items()},
        view=view, memberships={m.family.name: m for m in members},
        settings={"since": since, "min_downloads": min_downloads, "include_inferred": view.inferences is not None,
                  "threshold": view.threshold if view.inferences is not None else None, "published": list(PUBLISHED)},
        caveats=caveats)
