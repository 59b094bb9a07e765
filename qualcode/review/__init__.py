"""Human decisions: accept, reject, code by hand, review in a notebook widget or in Excel, re-anchor.

The log is append-only and lives in the :class:`~qualcode.project.Project`.
"""

from __future__ import annotations

from .decisions import accept, add_manual, coded_quotes, decisions, reject
from .sheet import apply_review, export_review_sheet, normalize_decision, read_review_sheet
from .widget import ReviewQueue, ReviewWidget, review_widget

__all__ = [
    "ReviewQueue",
    "ReviewWidget",
    "accept",
    "add_manual",
    "apply_review",
    "coded_quotes",
    "decisions",
    "export_review_sheet",
    "normalize_decision",
    "read_review_sheet",
    "reject",
    "review_widget",
]
