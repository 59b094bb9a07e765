"""Tables to files and figures (writing only)."""

from __future__ import annotations

from .charts import plot_code_by_attribute, plot_cooccurrence, plot_frequencies, plot_saturation
from .excel import export_excel, export_report, export_tables, report_tables
from .pseudonymize import Pseudonymizer, quote_tags
from .refi_qda import export_refi_qda, import_refi_qda, validate_qde

__all__ = [
    "Pseudonymizer",
    "export_excel",
    "export_refi_qda",
    "export_report",
    "export_tables",
    "import_refi_qda",
    "plot_code_by_attribute",
    "plot_cooccurrence",
    "plot_frequencies",
    "plot_saturation",
    "quote_tags",
    "report_tables",
    "validate_qde",
]
