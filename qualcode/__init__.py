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
from .codebook import Code, Codebook, load_codebook, save_codebook
from .coders import EmbeddingCoder, EnsembleCoder, KeywordCoder, LearnedCoder, evaluate, suggest
from .errors import QualcodeError, QualcodeWarning
from .export import (
    Pseudonymizer,
    export_excel,
    export_refi_qda,
    export_report,
    export_tables,
    plot_code_by_attribute,
    plot_cooccurrence,
    plot_frequencies,
    plot_saturation,
    import_refi_qda,
    quote_tags,
    report_tables,
)
from .project import Project
from .review import (
    ReviewWidget,
    accept,
    add_manual,
    apply_review,
    coded_quotes,
    decisions,
    export_review_sheet,
    read_review_sheet,
    reject,
    review_widget,
)

__version__ = "0.1.0"

__all__ = [
    "export_refi_qda",
    "import_refi_qda",
    "Pseudonymizer",
    "export_excel",
    "export_report",
    "export_tables",
    "quote_tags",
    "report_tables",
    "emergent_themes",
    "plot_code_by_attribute",
    "plot_cooccurrence",
    "plot_frequencies",
    "plot_saturation",
    "code_by_attribute",
    "code_frequencies",
    "cohen_kappa",
    "cooccurrence",
    "disagreements",
    "krippendorff_alpha",
    "percent_agreement",
    "rollup",
    "first_appearance",
    "saturation",
    "saturation_orderings",
    "unseen_codes",
    "EmbeddingCoder",
    "EnsembleCoder",
    "KeywordCoder",
    "LearnedCoder",
    "evaluate",
    "suggest",
    "run_round",
    "RoundResult",
    "Project",
    "accept",
    "add_manual",
    "apply_review",
    "coded_quotes",
    "decisions",
    "export_review_sheet",
    "read_review_sheet",
    "reject",
    "review_widget",
    "ReviewWidget",
    "Code",
    "Codebook",
    "Corpus",
    "LoadReport",
    "QualcodeError",
    "QualcodeWarning",
    "SurveyColumns",
    "load_codebook",
    "load_corpus",
    "save_codebook",
    "__version__",
]
