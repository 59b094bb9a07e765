"""Analysis: pure functions over tables (no files, no printing, no plotting)."""

from __future__ import annotations

from .agreement import agreement_matrix, cohen_kappa, disagreements, krippendorff_alpha, percent_agreement
from .emergent import emergent_themes
from .frequencies import code_by_attribute, code_frequencies, cooccurrence, participant_keys, rollup
from .saturation import first_appearance, saturation, saturation_orderings, unseen_codes

__all__ = [
    "agreement_matrix",
    "code_by_attribute",
    "code_frequencies",
    "cohen_kappa",
    "cooccurrence",
    "disagreements",
    "emergent_themes",
    "first_appearance",
    "krippendorff_alpha",
    "participant_keys",
    "percent_agreement",
    "rollup",
    "saturation",
    "saturation_orderings",
    "unseen_codes",
]
