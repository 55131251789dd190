"""The report's figures with matplotlib (Agg backend), byte-identical for identical data.

Determinism: a fixed ``svg.hashsalt``, no creation date in the metadata, text kept as text (``svg.fonttype``
``none``) and a fixed style. Each chart function takes the report's tables and returns a Figure or None when there is
nothing to draw; :func:`render_charts` saves them as SVG or PNG bytes keyed by file name.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

RC = {"svg.hashsalt": "hubtree-report", "svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 9,
      "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
      "axes.axisbelow": True, "figure.dpi": 100, "savefig.dpi": 100, "path.simplify": True}
COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")
MONTHS_SHOWN = 24
Tables = dict[str, pl.DataFrame]


def _short(text: str | None, n: int = 42) -> str:
    text = "(none)" if text is None else str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _recent(df: pl.DataFrame) -> pl.DataFrame:
    return df.tail(MONTHS_SHOWN)


def _stacked(df: pl.DataFrame, dim: str, months: list[str], top: int = 6) -> tuple[list[str], dict[str, list[int]]]:
    """Series per value of ``dim`` over ``months`` (the ``top`` largest; the rest summed as ``other``)."""
    df = df.filter(pl.col("month").is_in(months))
    totals = df.group_by(dim).agg(pl.col("new").sum()).sort(["new", dim], descending=[True, False])
    keep = totals[dim].head(top).to_list()
    series: dict[str, list[int]] = {}
    for key in keep + (["other"] if totals.height > top else []):
        part = df.filter(~pl.col(dim).is_in(keep) if key == "other" else pl.col(dim) == key)
        per = dict(part.group_by("month").agg(pl.col("new").sum()).iter_rows())
        series[key] = [int(per.get(m, 0)) for m in months]
    return keep, series


def _stacked_months(t: Tables, table: str, dim: str, title: str) -> Figure | None:
    """New derivatives per month (the last :data:`MONTHS_SHOWN`), stacked by ``dim``."""
    months = _recent(t["growth_months"])["month"].to_list()
    if not months:
        return None
    _, series = _stacked(t[table], dim, months)
    fig, ax = plt.subplots(figsize=(8, 3.4))
    bottom = [0] * len(months)
    for i, (key, values) in enumerate(series.items()):
        ax.bar(months, values, bottom=bottom, label=_short(key, 20), color=COLORS[i % len(COLORS)])
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    ax.set_title(title)
    ax.set_ylabel("models")
    ax.legend(frameon=False, ncols=min(4, len(series)))
    ax.tick_params(axis="x", labelrotation=60)
    return fig


def growth_new(t: Tables) -> Figure | None:
    return _stacked_months(t, "growth_by_relation", "relation", "New declared derivatives per month, by relation")


def growth_cumulative(t: Tables) -> Figure | None:
    """Cumulative declared derivatives and the family's share of all new models."""
    df = _recent(t["growth_months"])
    if df.is_empty():
        return None
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(df["month"].to_list(), df["cumulative"].to_list(), marker="o", color=COLORS[0], label="cumulative")
    ax.set_ylabel("declared derivatives (cumulative)")
    ax.tick_params(axis="x", labelrotation=60)
    share = df["family_share"].to_list()
    if any(s is not None for s in share):
        ax2 = ax.twinx()
        ax2.plot(df["month"].to_list(), [s if s is not None else float("nan") for s in share], color=COLORS[1],
                 linestyle="--", label="family share of new models")
        ax2.set_ylabel("family share of all new models")
        ax2.set_ylim(0, 1)
        ax2.grid(False)
        ax2.spines["right"].set_visible(True)
    ax.set_title("Cumulative derivatives (line) and family share of new models (dashed)")
    return fig


def growth_generation(t: Tables) -> Figure | None:
    return _stacked_months(t, "growth_by_generation", "generation",
                           "New declared derivatives per month, by generation")


def _family_months(t: Tables) -> tuple[list[str], pl.DataFrame]:
    """The last :data:`MONTHS_SHOWN` months of ``families_months`` in calendar order."""
    df = t["families_months"]
    months = sorted(set(df["month"].to_list()))[-MONTHS_SHOWN:]
    return months, df.filter(pl.col("month").is_in(months))


def families_share(t: Tables) -> Figure | None:
    """Each family's share of the new declared derivatives of all families, per month (stacked to 1)."""
    months, df = _family_months(t)
    if not months or df["new"].sum() == 0:
        return None
    fig, ax = plt.subplots(figsize=(9, 3.4))
    bottom = [0.0] * len(months)
    for i, name in enumerate(dict.fromkeys(df["family"].to_list())):
        share = dict(df.filter(pl.col("family") == name).select("month", "share").iter_rows())
        values = [share.get(m) or 0.0 for m in months]
        ax.bar(months, values, bottom=bottom, label=_short(name, 20), color=COLORS[i % len(COLORS)])
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of new derivatives")
    ax.set_title("Share of new declared derivatives by family")
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.tick_params(axis="x", labelrotation=60)
    return fig


def families_cumulative(t: Tables) -> Figure | None:
    """Cumulative declared derivatives per family (log scale: families differ by orders of magnitude)."""
    months, df = _family_months(t)
    if not months or df["cumulative"].max() in (None, 0):
        return None
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for i, name in enumerate(dict.fromkeys(df["family"].to_list())):
        cum = dict(df.filter(pl.col("family") == name).select("month", "cumulative").iter_rows())
        ax.plot(months, [cum.get(m) or float("nan") for m in months], marker="o", markersize=3,
                color=COLORS[i % len(COLORS)], label=_short(name, 20))
    ax.set_yscale("log")
    ax.set_ylabel("declared derivatives (cumulative)")
    ax.set_title("Cumulative declared derivatives by family")
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.tick_params(axis="x", labelrotation=60)
    return fig


def _barh(labels: list[str], values: list[float], title: str, xlabel: str) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.28 * max(len(labels), 1)))
    ax.barh([_short(x) for x in labels][::-1], values[::-1], color=COLORS[0])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return fig


def families(t: Tables) -> Figure | None:
    df = t["families"]
    if df.is_empty():
        return None
    return _barh(df["generation"].to_list(), df["models"].to_list(), "Family size by generation", "models")


def top_bases(t: Tables) -> Figure | None:
    df = t["top_bases"].head(12)
    if df.is_empty():
        return None
    return _barh(df["base"].to_list(), df["children"].to_list(), "Most-derived bases (direct declared children)",
                 "children")


def depth(t: Tables) -> Figure | None:
    df = t["depth_histogram"]
    if df.is_empty():
        return None
    fig, ax = plt.subplots(figsize=(5, 2.8))
    ax.bar([str(d) for d in df["depth"].to_list()], df["models"].to_list(), color=COLORS[2])
    ax.set_yscale("log")
    ax.set_title("Models by depth below their root")
    ax.set_xlabel("depth (0 = root)")
    return fig


def licence_mix(t: Tables) -> Figure | None:
    df = t["licence_mix"].head(10)
    if df.is_empty():
        return None
    return _barh(df["license"].to_list(), df["models"].to_list(), "Licence mix of the family", "models")


def findings(t: Tables) -> Figure | None:
    df = t["findings_by_rule"]
    if df.is_empty():
        return None
    kinds = df.group_by("kind", maintain_order=True).agg(pl.col("edges").sum())
    fig, ax = plt.subplots(figsize=(5, 2.8))
    colors = {"inherited": COLORS[2], "compatible": COLORS[0], "missing": COLORS[1], "violation": COLORS[3],
              "unknown": COLORS[7]}
    ax.bar(kinds["kind"].to_list(), kinds["edges"].to_list(), color=[colors.get(k, COLORS[4]) for k in kinds["kind"]])
    ax.set_title("Declared edges by licence classification")
    ax.set_ylabel("edges")
    return fig


def deployment(t: Tables) -> Figure | None:
    df = t["deployment_shares"].filter(pl.col("group") != "any")
    if df.is_empty():
        return None
    keys = sorted(set(df["key"].to_list()))
    groups = sorted(set(df["group"].to_list()))
    fig, ax = plt.subplots(figsize=(8, 3))
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        share = dict(df.filter(pl.col("key") == key).select("group", "share").iter_rows())
        ax.bar([g + i * width for g in range(len(groups))], [share.get(g, 0) for g in groups], width=width,
               label=key, color=COLORS[i % len(COLORS)])
    ax.set_xticks([g + width * (len(keys) - 1) / 2 for g in range(len(groups))], groups)
    ax.set_ylabel("share of models")
    ax.set_title("Share of models with a deployment signal, by group")
    ax.legend(frameon=False)
    return fig


#: (file stem, title, chart): the order of figures in the report.
CHARTS: tuple[tuple[str, str, Callable[[Tables], Figure | None]], ...] = (
    ("growth_new", "New derivatives per month by relation", growth_new),
    ("growth_cumulative", "Cumulative derivatives and family share", growth_cumulative),
    ("growth_generation", "New derivatives per month by generation", growth_generation),
    ("families_share", "Share of new derivatives by family", families_share),
    ("families_cumulative", "Cumulative derivatives by family", families_cumulative),
    ("families", "Family size by generation", families),
    ("depth", "Depth histogram", depth),
    ("top_bases", "Most-derived bases", top_bases),
    ("licence_mix", "Licence mix", licence_mix),
    ("findings", "Licence classification of edges", findings),
    ("deployment", "Deployment signal shares", deployment),
)


def save(fig: Figure, fmt: str) -> bytes:
    """The figure as SVG or PNG bytes without any date or version-dependent metadata."""
    buf = io.BytesIO()
    metadata = {"Date": None, "Creator": None} if fmt == "svg" else {"Software": None}
    fig.tight_layout()
    fig.savefig(buf, format=fmt, metadata=metadata)
    plt.close(fig)
    return buf.getvalue()


def render_charts(tables: Tables, fmt: str = "svg") -> dict[str, tuple[str, bytes]]:
    """``{file name: (title, bytes)}`` of every chart there is data for."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"figure format must be svg or png, not {fmt!r}")
    out: dict[str, tuple[str, bytes]] = {}
    with plt.rc_context(RC):
        for stem, title, chart in CHARTS:
            fig = chart(tables)
            if fig is not None:
                out[f"{stem}.{fmt}"] = (title, save(fig, fmt))
    return out
