"""Write a :class:`~analysis.report.build.ReportData` as files: a self-contained HTML page, Markdown, JSON, every
figure (SVG or PNG) and every table (CSV and Parquet).

Text from hubs (ids, licences, card-derived reasons) is untrusted: the HTML template is rendered with Jinja2
autoescape on and figures are embedded as ``<img>`` data URIs (never inline markup); the Markdown writer escapes
HTML and Markdown syntax in every cell. Nothing written depends on the time of writing, so the same data gives
the same bytes.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from jinja2 import Environment, PackageLoader

from analysis.report.build import ReportData
from analysis.report.charts import render_charts

ROWS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    intro: str
    figures: tuple[str, ...]
    tables: tuple[tuple[str, str], ...]  # (table name, caption)


SECTIONS: tuple[Section, ...] = (
    Section("growth", "Growth", "New declared derivatives by month of creation (createdAt), up to the report month.",
            ("growth_new", "growth_cumulative", "growth_generation"),
            (("growth_months", "Months (new, cumulative, month-over-month growth, share of all new models)"),
             ("top_bases_month", "Most-derived bases this month"), ("top_authors_month", "Most active authors this "
                                                                                           "month"))),
    Section("compare", "Families", "The report's family next to every family of the families table, as of the "
            "month's end: the share of new declared derivatives by family (the families' shares of a month add up "
            "to 1), cumulative derivatives, and the month-over-month change (none from a partial month).",
            ("families_share", "families_cumulative"),
            (("families_compare", "Families side by side (declared derivatives by relation; inferred and undeclared "
                                  "apart; shared = members of several families)"),
             ("families_months", "New derivatives by family and month, share, cumulative and month-over-month change"),
             ("organisations", "Derived models per publishing organisation (Hugging Face's way of counting)"))),
    Section("families", "Largest families and depth", "Family members grouped by the generation of their root; "
            "depth is the number of declared steps below the nearest root.", ("families", "depth", "top_bases"),
            (("families", "Families by generation"), ("top_bases", "Most-derived bases (all time, as of the month's "
                                                                   "end)"))),
    Section("licences", "Licence findings", "Every declared edge is classified by the licence drift rules; each "
            "finding carries a plain-English reason.", ("licence_mix", "findings"),
            (("findings_by_rule", "Edges by classification and rule, with the rule's reason"),
             ("flagged_models", "Flagged models, most downloaded first"), ("licence_mix", "Licence mix"),
             ("drift_matrix", "Drift matrix (parent licence → child licence)"))),
    Section("deployment", "Deployment signals", "Share of family models with at least one signal per group; "
            "signals come from tags, live inference providers, local formats, card text and ModelScope flags.",
            ("deployment",), (("deployment_shares", "Shares overall and by role"),
                              ("deployment_by_source", "Signals by source"),
                              ("deployment_by_generation", "Shares by generation"))),
    Section("new", "Notable new derivatives", "Declared derivatives created in the report month, most downloaded "
            "first (downloads as of the latest crawl).", (), (("new_derivatives", "New derivatives"),)),
    Section("quality", "Data quality", "What the figures above cannot see, and how the crawls went.", (),
            (("crawl_runs", "Crawl runs"), ("unresolved_bases", "Unresolved declared bases"),
             ("missing_root_bases", "Declared bases in the family's root organisations missing from the store "
                                    "(their children are counted)"),
             ("undeclared_by_architecture", "Repos of the family's architectures without a declared base"),
             ("quarantine", "Quarantined records"))),
)

QUALITY_LABELS = {
    "edges": "Declared edges (as of the month's end)",
    "unresolved_edges": "Edges whose declared base names no stored repo",
    "unresolved_bases": "Distinct unresolved base names",
    "missing_root_bases": "Missing root-organisation bases declared by family models (children counted)",
    "undeclared_family_architecture": "Repos of the family's architectures without a declared base (not counted in "
                                      "the family)",
    "family_cards_fetched": "Family models with a fetched card",
    "family_models": "Family models",
    "quarantined": "Quarantined records in these runs",
    "runs": "Crawl runs behind the data",
    "runs_failed": "Failed runs",
    "runs_partial": "Partial runs",
    "run_errors": "Errors in these runs",
    "undated_derivatives": "Derivatives without createdAt (left out of monthly counts)",
    "models_in_store_as_of": "Repos in the store as of the month's end (all authors)",
}


# --------------------------------------------------------------------------------------------- formatting


def cell(value: Any) -> str:
    """A table cell as text (the same in HTML and Markdown, before escaping)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value)
    return str(value)


def data_line(meta: dict[str, Any]) -> str:
    """When the data end, and what the headline compares with."""
    if meta.get("partial"):
        return (f"Partial month, data to {meta['data_to']}; compared with {meta['previous_month']} (no change is "
                "computed from the partial month's own events).")
    return f"Data as of {meta['as_of'][:10]} (end of month); compared with {meta['previous_month']}."


def headline_value(value: Any, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "count":
        return f"{value:,}"
    return f"{value:.1%}"


def headline_change(change: Any, kind: str) -> str:
    if change is None:
        return "n/a"
    if kind == "count":
        return f"{change:+,}"
    return f"{change * 100:+.1f} pp"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_escape(text: Any) -> str:
    """Untrusted text made inert in Markdown: HTML characters as entities, Markdown syntax backslash-escaped,
    newlines as spaces (so a cell stays in its table row)."""
    s = cell(text) if not isinstance(text, str) else text
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = re.sub(r"\s*[\r\n]+\s*", " ", s)
    return _MD_SPECIAL.sub(r"\\\1", s)


def md_table(df: pl.DataFrame, limit: int = ROWS_SHOWN) -> str:
    if df.is_empty():
        return "_(none)_\n"
    lines = ["| " + " | ".join(md_escape(c) for c in df.columns) + " |",
             "| " + " | ".join("---" for _ in df.columns) + " |"]
    for row in df.head(limit).iter_rows():
        lines.append("| " + " | ".join(md_escape(cell(v)) for v in row) + " |")
    if df.height > limit:
        lines.append(f"\n_First {limit} of {df.height} rows; all rows in the CSV file._")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- writers


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("analysis.report", "templates"), autoescape=True,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(cell=cell, headline_value=headline_value, headline_change=headline_change)
    return env


def _table_view(name: str, caption: str, df: pl.DataFrame) -> dict[str, Any]:
    return {"name": name, "caption": caption, "columns": df.columns, "rows": list(df.head(ROWS_SHOWN).iter_rows()),
            "total": df.height, "csv": f"tables/{name}.csv"}


def render_html(data: ReportData, figures: dict[str, tuple[str, bytes]]) -> str:
    """The self-contained HTML page (figures as data URIs; no script, no external resource)."""
    mime = {"svg": "image/svg+xml", "png": "image/png"}
    fig_views = {name.rsplit(".", 1)[0]: {"title": title, "file": f"figures/{name}",
                                          "uri": f"data:{mime[name.rsplit('.', 1)[1]]};base64,"
                                                 + base64.b64encode(blob).decode()}
                 for name, (title, blob) in figures.items()}
    sections = [{"id": s.id, "title": s.title, "intro": s.intro,
                 "figures": [fig_views[f] for f in s.figures if f in fig_views],
                 "tables": [_table_view(n, c, data.tables[n]) for n, c in s.tables]} for s in SECTIONS]
    quality = [(QUALITY_LABELS.get(k, k), v) for k, v in data.quality.items()]
    return _environment().get_template("report.html.j2").render(
        data=data, meta=data.meta, headline=data.headline, sections=sections, quality=quality,
        data_line=data_line(data.meta))


def render_markdown(data: ReportData, figures: dict[str, tuple[str, bytes]]) -> str:
    """The same report in Markdown (figures linked as files beside it)."""
    m = data.meta
    out = [f"# {md_escape(m['family'])} family report — {m['month']}\n", f"{data_line(m)}\n",
           f"**{md_escape(m['sentence'])}**\n",
           "## Headline\n", "| figure | value | previous month | change |", "| --- | --- | --- | --- |"]
    for h in data.headline:
        out.append(f"| {md_escape(h['label'])} | {headline_value(h['value'], h['kind'])} | "
                   f"{headline_value(h['previous'], h['kind'])} | {headline_change(h['change'], h['kind'])} |")
    out.append("")
    for s in SECTIONS:
        out += [f"## {s.title}\n", f"{s.intro}\n"]
        if s.id == "quality":
            out.append(f"{md_escape(m['runs_label'])}.\n")
            out += [f"- {md_escape(QUALITY_LABELS.get(k, k))}: {md_escape(cell(v))}" for k, v in data.quality.items()]
            out.append("")
        for f in s.figures:
            name = next((n for n in figures if n.rsplit(".", 1)[0] == f), None)
            if name:
                out.append(f"![{md_escape(figures[name][0])}](figures/{name})\n")
        for name, caption in s.tables:
            out += [f"### {md_escape(caption)}\n", md_table(data.tables[name]),
                    f"[{name}.csv](tables/{name}.csv)\n"]
    out.append("## Method notes\n")
    out += [f"- **{md_escape(n['title'])}.** {md_escape(n['text'])}" for n in data.notes]
    out.append("\n## Caveats\n")
    for analysis, caveats in data.caveats.items():
        out += [f"- {md_escape(analysis)}: {md_escape(c)}" for c in caveats]
    return "\n".join(out) + "\n"


#: Cells a spreadsheet would run as a formula start with one of these (OWASP "CSV injection").
_FORMULA_START = r"^[=+\-@\t\r]"


def csv_safe(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with every text cell that a spreadsheet would run as a formula prefixed by ``'`` (shown as text)."""
    text = [c for c, t in df.schema.items() if t == pl.String]
    return df.with_columns(pl.when(pl.col(c).str.contains(_FORMULA_START)).then(pl.lit("'") + pl.col(c))
                           .otherwise(pl.col(c)).alias(c) for c in text)


def write_tables(tables: dict[str, pl.DataFrame], directory: Path, parquet: bool = True) -> list[Path]:
    """Each table as CSV (formula-safe, for spreadsheets) and, by default, Parquet (the values as they are)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        csv_safe(df).write_csv(directory / f"{name}.csv")
        written.append(directory / f"{name}.csv")
        if parquet:
            df.write_parquet(directory / f"{name}.parquet", statistics=False)
            written.append(directory / f"{name}.parquet")
    return written


def write_report(data: ReportData, out_dir: Path | str, *, figure_format: str = "svg") -> dict[str, Path]:
    """Write the report into ``out_dir``: ``index.html``, ``report.md``, ``report.json``, ``figures/``,
    ``tables/``. Returns the main paths."""
    out = Path(out_dir)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    figures = render_charts(data.tables, figure_format)
    for name, (_title, blob) in figures.items():
        (out / "figures" / name).write_bytes(blob)
    write_tables(data.tables, out / "tables")
    (out / "report.json").write_bytes(orjson.dumps(data.to_json(), option=orjson.OPT_INDENT_2
                                                   | orjson.OPT_NON_STR_KEYS, default=str) + b"\n")
    (out / "report.md").write_text(render_markdown(data, figures), encoding="utf-8")
    (out / "index.html").write_text(render_html(data, figures), encoding="utf-8")
    return {"html": out / "index.html", "markdown": out / "report.md", "json": out / "report.json",
            "figures": out / "figures", "tables": out / "tables"}
