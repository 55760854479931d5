"""``clearzoom explain``: the workflow report (input analysis, stage trace, result view, references)."""

from .coding import explain
from .render import to_html, to_json, to_markdown, write_report
from .report import REPORT_FORMAT, ExplainResult, load_references

__all__ = [
    "REPORT_FORMAT",
    "ExplainResult",
    "explain",
    "load_references",
    "to_html",
    "to_json",
    "to_markdown",
    "write_report",
]
