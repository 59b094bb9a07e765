"""qualcode: qualitative analysis of interview transcripts, in Spanish and English.

The names a notebook needs, in the order of the data flow::

    import qualcode as qc
    corpus, report = qc.load_corpus("data_samples/transcripts", attributes="data_samples/attributes.csv")
    codebook = qc.load_codebook("nic_study")
"""

from __future__ import annotations

# io before corpus: the readers' package imports the Corpus it builds.
from .io import LoadReport, SurveyColumns, load_corpus  # isort: skip
from .corpus import Corpus  # isort: skip
from .analysis import (
    code_by_attribute,
    code_frequencies,
    cohen_kappa,
    cooccurrence,
    disagreements,
    emergent_themes,
    first_appearance,
    krippendorff_alpha,
    percent_agreement,
    rollup,
    saturation,
    saturation_orderings,
    unseen_codes,
)
from .batch import RoundResult, run_round
from .codebook import Code, Codebook, codebook_changes, load_codebook, save_codebook
from .coders import EmbeddingCoder, EnsembleCoder, KeywordCoder, LearnedCoder, LLMCoder, evaluate
from .errors import QualcodeError, QualcodeWarning
from .export import (
    export_excel,
    export_tables,
    plot_code_by_attribute,
    plot_cooccurrence,
    plot_frequencies,
    plot_saturation,
    quote_tags,
    report_tables,
)
from .project import Project
from .review.decisions import accept, add_manual, coded_quotes, decisions, reject
from .review.sheet import apply_review, export_review_sheet, read_review_sheet
from .review.widget import ReviewWidget, review_widget
from .version import __version__
from .workflow import (
    Pseudonymizer,
    evaluate_project,
    export_refi_qda,
    export_report,
    import_refi_qda,
    import_report,
    imported_notes,
    set_codebook,
    suggest,
)

__all__ = [
    "Code",
    "Codebook",
    "Corpus",
    "EmbeddingCoder",
    "EnsembleCoder",
    "KeywordCoder",
    "LLMCoder",
    "LearnedCoder",
    "LoadReport",
    "Project",
    "Pseudonymizer",
    "QualcodeError",
    "QualcodeWarning",
    "ReviewWidget",
    "RoundResult",
    "SurveyColumns",
    "__version__",
    "accept",
    "add_manual",
    "apply_review",
    "code_by_attribute",
    "code_frequencies",
    "codebook_changes",
    "coded_quotes",
    "cohen_kappa",
    "cooccurrence",
    "decisions",
    "disagreements",
    "emergent_themes",
    "evaluate",
    "evaluate_project",
    "export_excel",
    "export_refi_qda",
    "export_report",
    "export_review_sheet",
    "export_tables",
    "first_appearance",
    "import_refi_qda",
    "import_report",
    "imported_notes",
    "krippendorff_alpha",
    "load_codebook",
    "load_corpus",
    "percent_agreement",
    "plot_code_by_attribute",
    "plot_cooccurrence",
    "plot_frequencies",
    "plot_saturation",
    "quote_tags",
    "read_review_sheet",
    "reject",
    "report_tables",
    "review_widget",
    "rollup",
    "run_round",
    "saturation",
    "saturation_orderings",
    "save_codebook",
    "set_codebook",
    "suggest",
    "unseen_codes",
]
