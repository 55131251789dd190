"""The monthly report: data assembly (:mod:`.build`), charts (:mod:`.charts`), rendering (:mod:`.render`), and
:mod:`.make`, which resolves the month and writes the report while holding the store's locks.

    from analysis.report import make_report
    make_report(store, "2024-07", Path("out/2024-07"), "qwen")   # index.html, report.md, report.json, figures/, tables/

    from analysis.report import build_report, write_report
    data = build_report(store, "2024-07", members)      # members: the family frame (hub, id, generation, depth)
    write_report(data, "out/2024-07")
"""

from __future__ import annotations

from analysis.report.build import ReportData, ReportError, build_report, latest_month
from analysis.report.make import make_report, resolve_month
from analysis.report.render import write_report

__all__ = ["ReportData", "ReportError", "build_report", "latest_month", "make_report", "resolve_month",
           "write_report"]
