"""The monthly report: data assembly (:mod:`.build`), charts (:mod:`.charts`) and rendering (:mod:`.render`).

    from analysis.report import build_report, write_report
    data = build_report(store, "2024-07", members)      # members: the family frame (hub, id, generation, depth)
    write_report(data, "out/2024-07")                   # index.html, report.md, report.json, figures/, tables/
"""

from __future__ import annotations

from analysis.report.build import ReportData, build_report, latest_month, month_end
from analysis.report.render import write_report

__all__ = ["ReportData", "build_report", "latest_month", "month_end", "write_report"]
