"""Tables to files and figures (writing only); the ``.qdpx`` reader. Nothing here sees a project.

The functions that read a project and call these writers (``qc.export_report``,
``qc.export_refi_qda``, ``qc.import_refi_qda``, ``qc.Pseudonymizer(...).project``)
live in :mod:`qualcode.workflow`.
"""

from __future__ import annotations

from .charts import plot_code_by_attribute, plot_cooccurrence, plot_frequencies, plot_saturation
from .excel import export_excel, export_tables, report_tables
from .pseudonymize import Pseudonymizer, quote_tags
from .refi_import import read_qdpx
from .refi_qda import qdpx_bytes, validate_qde

__all__ = [
    "Pseudonymizer",
    "export_excel",
    "export_tables",
    "plot_code_by_attribute",
    "plot_cooccurrence",
    "plot_frequencies",
    "plot_saturation",
    "qdpx_bytes",
    "quote_tags",
    "read_qdpx",
    "report_tables",
    "validate_qde",
]
