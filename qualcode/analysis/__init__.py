"""Analysis: pure functions over tables (no files, no printing, no plotting)."""

from __future__ import annotations

from .saturation import first_appearance, saturation, saturation_orderings, unseen_codes

__all__ = ["first_appearance", "saturation", "saturation_orderings", "unseen_codes"]
