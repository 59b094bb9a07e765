"""Tables to files and figures (writing only)."""

from __future__ import annotations

from .charts import plot_code_by_attribute, plot_cooccurrence, plot_frequencies, plot_saturation

__all__ = ["plot_frequencies", "plot_code_by_attribute", "plot_saturation", "plot_cooccurrence"]
