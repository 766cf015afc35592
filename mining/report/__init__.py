"""The reform brief an official can forward: process map, bottlenecks, candidates,
what-if table and KPIs, as HTML or XLSX."""

from mining.report.brief import build_brief
from mining.report.html import render_html, write_html
from mining.report.xlsx import write_xlsx

__all__ = ["build_brief", "render_html", "write_html", "write_xlsx"]
