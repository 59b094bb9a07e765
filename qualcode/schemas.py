"""The column contract of qualcode's tables, and the option types.

Every public table is a pandas DataFrame declared here once: its columns,
their dtype and meaning, and where such a table comes from. One checker,
:func:`check`, compares a frame with its declaration and reports every
problem at once (pandera's lazy validation, without the dependency); the
decorators :func:`takes` and :func:`returns` run it at the boundary of the
public functions and write the declared columns into their docstrings (the
``{columns}`` placeholder), so the documentation cannot drift from the code.

Attribute columns from the participant sheet (``role``, ``district``,
``stage``, ``round`` …) follow the declared columns in ``documents``,
``segments`` and ``coded_quotes``.

The option types (``Lang``, ``Unit``, ``DecisionKind``, ``Method``) are
``typing.Literal`` aliases, each with one validator whose message names the
parameter, the bad value and the valid ones.
"""

from __future__ import annotations

import functools
import inspect
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

from .errors import ParameterError

__all__ = [
    "CODED",
    "DECISION_KINDS",
    "DOCUMENTS",
    "LANGS",
    "METHODS",
    "NOT_ATTRIBUTES",
    "SEGMENTS",
    "SUGGESTIONS",
    "TABLES",
    "UNITS",
    "Column",
    "DecisionKind",
    "Lang",
    "Method",
    "SchemaError",
    "Table",
    "Unit",
    "check",
    "check_decision_kind",
    "check_lang",
    "check_method",
    "check_option",
    "check_unit",
    "coded",
    "column_doc",
    "columns",
    "empty_table",
    "returns",
    "takes",
    "typed_table",
]

# -- option types ---------------------------------------------------------------------------------------------------

Lang = Literal["es", "en"]
Unit = Literal["turn", "paragraph", "sentence"]
DecisionKind = Literal["accept", "reject", "manual"]
Method = Literal["keyword", "embedding", "learned", "llm"]

LANGS: tuple[str, ...] = get_args(Lang)
UNITS: tuple[str, ...] = get_args(Unit)
DECISION_KINDS: tuple[str, ...] = get_args(DecisionKind)
METHODS: tuple[str, ...] = get_args(Method)
#: The decision kinds that code a segment (a reject does not): what every analysis counts.
CODED: tuple[str, ...] = ("accept", "manual")


def check_option(value: object, valid: Sequence[str], name: str, *, none: str | None = None) -> Any:
    """Return ``value`` if it is one of ``valid`` (or ``None`` when ``none`` says what None means).

    Raises
    ------
    ParameterError
        Naming the parameter, the bad value and the valid ones.

    Examples
    --------
    >>> check_option("turn", UNITS, "unit")
    'turn'
    >>> check_option("fr", LANGS, "lang")
    Traceback (most recent call last):
    ...
    qualcode.errors.ParameterError: lang must be one of 'es', 'en', got 'fr'.
    """
    if value in valid or (value is None and none is not None):
        return value
    options = ", ".join(repr(v) for v in valid) + (f" or None ({none})" if none is not None else "")
    raise ParameterError(f"{name} must be one of {options}, got {value!r}.")


def check_lang(value: object, name: str = "lang", *, none: str | None = None) -> Any:
    """A language: ``"es"`` or ``"en"`` (``None`` allowed when ``none`` says what it means)."""
    return check_option(value, LANGS, name, none=none)


def check_unit(value: object, name: str = "unit") -> Any:
    """A segmentation unit: ``"turn"``, ``"paragraph"`` or ``"sentence"``."""
    return check_option(value, UNITS, name)


def check_decision_kind(value: object, name: str = "decision") -> Any:
    """A decision: ``"accept"``, ``"reject"`` or ``"manual"``.

    A coding imported from another tool is a ``manual`` decision whose
    ``source`` is ``"import"``.
    """
    return check_option(value, DECISION_KINDS, name)


def check_method(value: object, name: str = "method", *, valid: Sequence[str] = METHODS) -> Any:
    """A suggestion method: ``"keyword"``, ``"embedding"``, ``"learned"`` or ``"llm"`` (or the subset in ``valid``)."""
    return check_option(value, valid, name)


def coded(decisions: pd.DataFrame) -> pd.DataFrame:
    """The rows that code a segment: decision accept or manual (every row when there is no ``decision`` column).

    Examples
    --------
    >>> d = pd.DataFrame({"segment_id": ["a", "b", "c"], "decision": ["accept", "reject", "manual"]})
    >>> coded(d)["segment_id"].tolist()
    ['a', 'c']
    """
    if "decision" not in decisions.columns:
        return decisions
    return decisions[decisions["decision"].isin(CODED)]


# -- declarations ---------------------------------------------------------------------------------------------------

#: dtype kinds a strict column may hold, by the declared dtype's kind.
_KINDS = {"string": ("string", "object"), "int": ("int",), "float": ("int", "float"), "bool": ("bool",)}


def _kind(dtype: str | np.dtype | ExtensionDtype) -> str:
    if isinstance(dtype, pd.StringDtype) or str(dtype) in ("str", "string"):
        return "string"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "object"


@dataclass(frozen=True)
class Column:
    """One declared column.

    Attributes
    ----------
    name, dtype, meaning : str
        The column, the pandas dtype :func:`empty_table` gives it, what it holds.
    nullable : bool
        Whether it may hold missing values (checked on returned tables).
    required : bool
        Whether every such table has it (per-language columns of a one-language codebook do not).
    strict : bool
        Whether its dtype kind (text, integer, number, boolean) is checked.
    """

    name: str
    dtype: str
    meaning: str
    nullable: bool = True
    required: bool = True
    strict: bool = False

    @property
    def kind(self) -> str:
        """``string``, ``int``, ``float``, ``bool`` or ``object``."""
        return _kind(self.dtype)


@dataclass(frozen=True)
class Table:
    """A declared table: its name, columns, what may follow them, and where such a table comes from."""

    name: str
    columns: tuple[Column, ...]
    meaning: str
    source: str = ""
    extra: str = ""

    @property
    def names(self) -> list[str]:
        """The declared column names, in order."""
        return [c.name for c in self.columns]


def _c(name: str, dtype: str, meaning: str, **flags: bool) -> Column:
    return Column(name, dtype, meaning, **flags)


_ID = {"nullable": False}

DOCUMENTS = (
    _c("doc_id", "string", "document id: the file name without suffix (NFC), or file#row for survey answers", **_ID),
    _c("source_path", "string", "the file the document was read from"),
    _c("format", "string", "txt, md, docx, vtt, srt, csv or xlsx"),
    _c("encoding", "string", "the detected text encoding (utf-8, utf-8-bom, utf-16-bom, cp1252, …)"),
    _c("language", "string", "es or en: given, from the attributes sheet, or detected"),
    _c("sha256", "string", "SHA-256 of the file's bytes (of the response's text for survey answers)"),
    _c("n_turns", "Int64", "number of speaker turns"),
    _c("n_segments", "Int64", "number of segments at the corpus's unit"),
    _c("n_words", "Int64", "white-space separated words in all segments"),
    _c("labelled", "boolean", "whether speaker labels were found"),
    _c("text", "string", "the canonical document text that segment offsets index"),
)

SEGMENTS = (
    _c("segment_id", "string", "stable id: a hash of the document id, the text and its occurrence number", **_ID),
    _c("doc_id", "string", "the document the segment belongs to", **_ID),
    _c("turn", "Int64", "1-based speaker-turn number in the document"),
    _c("part", "Int64", "1-based paragraph or sentence number within the turn (1 for unit='turn', unless a time "
       "mark inside the turn's speech cut it)"),
    _c("speaker", "string", "the speaker label as written (Directora 3, E, PA4); <NA> when unlabelled"),
    _c("speaker_role", "string", "interviewer, participant or unknown (text before the first label)"),
    _c("start", "Int64", "character offset where the segment starts in the document text", strict=True),
    _c("end", "Int64", "character offset where it ends: document_text[start:end] == text", strict=True),
    _c("timestamp", "Float64", "seconds from the start of the recording, when the transcript says"),
    _c("field", "string", "the survey question column an answer came from; <NA> for interviews"),
    _c("text", "string", "the segment's text"),
    _c("language", "string", "es or en, the document's language"),
)

SUGGESTIONS = (
    _c("segment_id", "string", "the segment the code is suggested for", **_ID),
    _c("doc_id", "string", "its document"),
    _c("code_id", "string", "the suggested code", **_ID),
    _c("method", "string", "keyword, embedding, learned, llm, or several joined by '+' after an ensemble"),
    _c("score", "Float64", "0–1; from the ensemble, the probability the suggestion gets coded (see coders/fusion.py)",
       strict=True),
    _c("evidence", "string", "why, in words: the matched keywords, or the nearest example and its similarity"),
    _c("spans", "object", "list of [start, end] offsets in the document text of the words that carry the code"),
    _c("codebook_version", "string", "the codebook version the suggestion was made with"),
)

SUGGESTION_RUNS = (
    _c("run_id", "string", "the run's key: its time and a random suffix", **_ID),
    _c("created_at", "string", "when the run's suggestions were stored (UTC, ISO 8601); they carry the same time",
       **_ID),
    _c("codebook_version", "string", "the codebook version suggested from"),
    _c("n_segments", "Int64", "segments suggested for"),
    _c("n_suggestions", "Int64", "suggestions stored"),
    _c("methods", "string", "the coders combined, in order, joined by '+' (keyword+embedding+learned)"),
    _c("params_hash", "string", "16 hex digits of SHA-256 of params: the same settings give the same hash"),
    _c("params", "string", "every coder's parameters as JSON (embedders and caches by class and name)"),
    _c("qualcode_version", "string", "the qualcode version that ran"),
)

DECISIONS = (
    _c("decision_id", "Int64", "the log's row number (order of appending)"),
    _c("segment_id", "string", "the segment the decision is anchored to now"),
    _c("code_id", "string", "the code decided on", **_ID),
    _c("coder", "string", "who decided (a person's name or initials, or a method)", **_ID),
    _c("decision", "string", "accept, reject or manual (an imported coding is manual, source import)", **_ID),
    _c("start", "Int64", "offset where the decided words start in the current document text"),
    _c("end", "Int64", "offset where they end"),
    _c("memo", "object", "a note kept with the decision"),
    _c("created_at", "string", "when it was decided (ISO 8601, UTC)"),
    _c("source", "string", "notebook, sheet, import, cli or widget"),
    _c("doc_id", "string", "the document"),
    _c("quote", "string", "the words decided on, as they read then (used to re-anchor)"),
    _c("method", "string", "the suggestion's method, for accepts and rejects of a suggestion"),
    _c("score", "Float64", "the suggestion's score"),
    _c("codebook_version", "string", "the codebook version decided under"),
    _c("anchor", "string", "original, exact, fuzzy or orphan: how the decision found its words now"),
    _c("export_id", "object", "the review workbook a decision was applied from; None otherwise"),
)

CODED_QUOTES = (
    _c("segment_id", "string", "the coded segment", **_ID),
    _c("doc_id", "string", "its document"),
    _c("code_id", "string", "the code", **_ID),
    _c("coder", "string", "who coded it"),
    _c("decision", "string", "accept or manual"),
    _c("quote_now", "string", "the coded words as the document reads now (decisions' quote is as decided)"),
    _c("start", "Int64", "offset where they start in the document text"),
    _c("end", "Int64", "offset where they end"),
    _c("speaker", "string", "the speaker label"),
    _c("speaker_role", "string", "interviewer, participant or unknown"),
    _c("timestamp", "Float64", "seconds from the start of the recording, when known"),
    _c("memo", "object", "the decision's note"),
    _c("created_at", "string", "when it was decided"),
)

_PER_LANG = (("label", "string", "the code's name"), ("definition", "string", "what the code means"),
             ("inclusion", "string", "when to apply it"), ("exclusion", "string", "when not to"),
             ("examples", "object", "example quotes (list)"), ("keywords", "object", "keywords (list)"),
             ("negative_keywords", "object", "keywords that veto a keyword match (list)"))

CODES = (
    _c("code_id", "string", "dotted code id (dimension.group.code)", **_ID),
    _c("parent_id", "string", "the parent code's id; None for a dimension"),
    _c("dimension", "string", "the top-level code it belongs to"),
    _c("depth", "int64", "0 for a dimension, 1 for its children …"),
    _c("color", "string", "display colour (#rrggbb)"),
    *(_c(f"{field}_{lang}", dtype, f"{meaning}, in {lang}", required=False)
      for lang in LANGS for field, dtype, meaning in _PER_LANG),
)

LOAD_REPORT = (
    _c("path", "string", "the input file"),
    _c("doc_id", "string", "the document made from it (<NA> when none was)"),
    _c("status", "string", "ok, warning or error"),
    _c("error", "string", "the exception class name, for errors"),
    _c("message", "string", "the file named once, then what happened and what to do"),
    _c("line", "Int64", "the first line of the file the message is about, when it names one"),
    _c("n_segments", "Int64", "segments read from the file"),
)

CORPUS_CHANGES = (
    _c("doc_id", "string", "the document", **_ID),
    _c("action", "string", "added, updated, attributes (same text, new attributes) or unchanged"),
    _c("n_segments", "int64", "its segments now"),
    _c("n_reanchored", "int64", "decisions moved to the document's new text"),
    _c("n_orphaned", "int64", "decisions whose words are gone from it"),
)

CODEBOOK_CHANGES = (
    _c("code_id", "string", "the code in the new version (empty for a removed code)"),
    _c("change", "string", "added, removed, renamed, relabelled, redefined or keywords"),
    _c("old_code_id", "string", "the code in the old version (empty for an added code)"),
    _c("old_label", "string", "its label before (es, else en)"),
    _c("new_label", "string", "its label now (es, else en)"),
)

CODEBOOK_SET = (
    *CODEBOOK_CHANGES,
    _c("coded_segments", "int64", "segments coded (accepted or coded by hand) with the old code before the change"),
    _c("carried", "int64", "decisions carried to the new id (renamed codes; 0 for the others)"),
)

TAGUETTE_CODEBOOK = (
    _c("tag", "string", "the code's path of labels joined by '.' (Taguette's hierarchy)", **_ID),
    _c("parent", "string", "the parent's tag (empty for a dimension)"),
    _c("description", "string", "the code in plain words: definition, criteria, examples, keywords, id"),
)

EVALUATION = (
    _c("system", "string", "the suggestions evaluated, or the most-frequent-codes baseline", **_ID),
    _c("level", "string", "code, dimension, or micro (code) / micro (dimension) for the pooled rows, macro (code) / "
                          "macro (dimension) for the mean over codes coded at least once", **_ID),
    _c("code_id", "string", "the code or dimension ('all' for pooled rows)"),
    _c("n_gold", "int64", "(segment, code) pairs the person coded"),
    _c("n_suggested", "int64", "pairs suggested"),
    _c("tp", "int64", "pairs both coded and suggested"),
    _c("fp", "int64", "pairs suggested but not coded"),
    _c("fn", "int64", "pairs coded but not suggested"),
    _c("precision", "float64", "tp / (tp + fp)"),
    _c("recall", "float64", "tp / (tp + fn)"),
    _c("f1", "float64", "harmonic mean of precision and recall"),
    _c("kappa", "float64", "Cohen's kappa over every evaluated segment"),
    _c("recall_at_k", "float64", "share of coded pairs among each segment's top k suggestions"),
)

EVALUATION_SUMMARY = (
    _c("system", "string", "keyword, embedding, learned, default (what qc.suggest gives), or a baseline: prior, "
                           "content, supervised", **_ID),
    _c("kind", "string", "method or baseline"),
    _c("n_segments", "int64", "segments evaluated (held out in turn)"),
    _c("n_gold", "int64", "(segment, code) pairs people coded"),
    _c("n_suggested", "int64", "pairs suggested after the system's own cut (top k, minimum score)"),
    _c("precision", "float64", "micro-averaged over codes"),
    _c("recall", "float64", "micro-averaged over codes"),
    _c("f1", "float64", "micro-averaged F1"),
    _c("macro_f1", "float64", "mean F1 over the codes coded at least once"),
    _c("kappa", "float64", "Cohen's kappa over every (segment, code) pair"),
    _c("recall_at_k", "float64", "share of coded pairs among each segment's top k of the full ranking"),
    _c("no_suggestion", "float64", "share of segments with no suggestion after the cut"),
    _c("ece", "float64", "expected calibration error: mean |score − share accepted| over score bins, weighted "
                         "by suggestions (NaN for the prior and the content baseline, whose scores are not "
                         "probabilities)"),
)

LEARNING_CURVE = (
    _c("system", "string", "default (what qc.suggest gives) or supervised (TF-IDF + logistic regression)", **_ID),
    _c("sampling", "string", "per code (n coded segments per code drawn from the training fold), or queue: "
                             "document order / queue: learn order (the first n suggestions of the review queue "
                             "decided)", **_ID),
    _c("n", "int64", "coded segments per code, or suggestions reviewed"),
    _c("n_accepted", "float64", "accepted decisions learned from, mean over folds"),
    _c("precision", "float64", "micro-averaged over codes"),
    _c("recall", "float64", "micro-averaged over codes"),
    _c("f1", "float64", "micro-averaged F1"),
    _c("macro_f1", "float64", "mean F1 over the codes coded at least once"),
    _c("recall_at_k", "float64", "share of coded pairs among each segment's top k"),
)

RELIABILITY = (
    _c("system", "string", "the system whose scores are binned", **_ID),
    _c("bin_low", "float64", "lower edge of the score bin (inclusive)"),
    _c("bin_high", "float64", "upper edge (exclusive; 1.0 inclusive)"),
    _c("n", "int64", "ranked (segment, code) pairs whose score falls in the bin"),
    _c("mean_score", "float64", "their mean score"),
    _c("accepted", "float64", "the share of them people coded: calibrated scores lie on the diagonal"),
)

REVIEW_SHEET = (
    _c("row", "Int64", "the spreadsheet row"),
    _c("segment_id", "string", "the segment"),
    _c("text_sha", "string", "the segment's text fingerprint at export"),
    _c("code_id", "string", "the suggested code"),
    _c("decision", "string", "accept, reject or <NA>"),
    _c("other_code", "string", "a code typed instead (id or label)"),
    _c("memo", "string", "the reviewer's note"),
    _c("method", "string", "the suggestion's method"),
    _c("score", "Float64", "the suggestion's score"),
    _c("problem", "string", "why the row cannot be taken, or <NA>"),
    _c("decision_problem", "string", "the decision cell is not understood (the other code can still be taken)"),
    _c("remark", "string", "something taken as it was not written (a memo turned into a formula …)"),
)

REVIEW_OUTCOMES = (
    _c("row", "Int64", "the spreadsheet row"),
    _c("segment_id", "string", "the segment"),
    _c("code_id", "string", "the code"),
    _c("outcome", "string", "applied, unchanged, blank, partial (some cells taken and one not understood or "
                            "stale), stale (decided again since the export) or refused"),
    _c("decisions", "string", "what was appended, e.g. reject+manual"),
    _c("message", "string", "why, and what to do (also for applied rows, e.g. a memo taken from a formula)"),
)

REVIEW_QUEUE = (
    _c("segment_id", "string", "the segment to review", **_ID),
    _c("doc_id", "string", "its document"),
    _c("code_id", "string", "the suggested code", **_ID),
    _c("method", "string", "the suggestion's method"),
    _c("score", "Float64", "the suggestion's score"),
    _c("status", "string", "pending, accepted, rejected, other or skipped"),
)

REVIEW_TABLE = (
    _c("segment_id", "string", "the segment to review", **_ID),
    _c("code_id", "string", "the suggested code (empty when coding by hand)"),
    *(_c(name, dtype, f"the suggestion's {name}, when the suggestions have it", required=False)
      for name, dtype in (("method", "string"), ("score", "Float64"), ("evidence", "string"), ("spans", "object"),
                          ("codebook_version", "string"), ("created_at", "string"))),
    *(_c(c.name, c.dtype, c.meaning, **({"nullable": False} if c.name == "doc_id" else {}))
      for c in SEGMENTS if c.name != "segment_id"),
    _c("text_sha", "string", "the segment's text fingerprint"),
    _c("question", "string", "the interviewer's turn before the segment, cut; NaN when none"),
    _c("reading_order", "int64", "the segment's position in project.segments"),
)

CODINGS = (
    _c("segment_id", "string", "the coded segment"),
    _c("doc_id", "string", "its document"),
    _c("code_id", "string", "the code"),
    _c("coder", "string", "who coded it", required=False),
    _c("decision", "string", "accept or manual are counted; other rows are ignored", required=False),
)

FREQUENCIES = (
    _c("code_id", "string", "the code"),
    _c("dimension", "string", "its dimension"),
    _c("depth", "int64", "0 for a dimension, 1 for its children …"),
    _c("n_segments", "int64", "coded segments"),
    _c("n_documents", "int64", "documents with the code"),
    _c("n_participants", "int64", "participants with the code"),
    _c("pct_participants", "float64", "share of participants with the code, 0–100"),
)

CODE_BY_ATTRIBUTE = (
    _c("code_id", "string", "the code"),
    _c("n", "int64", "coded segments in the group"),
    _c("pct_of_code", "float64", "the cell over the code's total, 0–100"),
    _c("pct_of_group", "float64", "the cell over the group's coded total, 0–100"),
)

COOCCURRENCE = (
    _c("code_a", "string", "one code"),
    _c("code_b", "string", "the other (code_a < code_b)"),
    _c("n", "int64", "units with both"),
    _c("jaccard", "float64", "n over units with either"),
)

FIRST_APPEARANCE = (
    _c("position", "int64", "1-based place in the analysis order"),
    _c("doc_id", "string", "the document"),
    _c("n_codes", "int64", "codes it has"),
    _c("n_new", "int64", "codes new to the study"),
    _c("cumulative", "int64", "codes seen so far"),
    _c("new_codes", "object", "the new codes (list, in code order)"),
)

SATURATION = (
    _c("group", "string", "'all', or the value of the by column"),
    _c("method", "string", "guest or francis"),
    _c("parameters", "string", "the method's parameters, in words"),
    _c("order", "string", "the analysis order used and how it was read ('by date (dd/mm/yyyy (day first))' …)"),
    _c("n_documents", "int64", "documents in the group"),
    _c("n_codes", "int64", "codes found"),
    _c("base_codes", "int64", "codes in the base (Guest) or initial sample (Francis)"),
    _c("saturated", "bool", "whether the stopping rule was met"),
    _c("point", "Int64", "the saturation point: last document of the base and runs, or <NA>"),
    _c("notation", "string", "'8+2', 'not saturated at 15' …"),
    _c("windows", "string", "the new-information ratio of each run examined"),
)

SATURATION_ORDERINGS = (
    _c("group", "string", "'all', or the value of the by column"),
    _c("n_orderings", "int64", "random document orders tried"),
    _c("share_saturated", "float64", "share of them that saturate"),
    _c("median", "float64", "median saturation point over the orders that saturate"),
    _c("q25", "float64", "its first quartile"),
    _c("q75", "float64", "its third quartile"),
)

UNSEEN_CODES = (
    _c("group", "string", "'all', or the value of the by column"),
    _c("n_documents", "int64", "documents m"),
    _c("observed", "int64", "codes observed K"),
    _c("q1", "int64", "codes seen in exactly one document"),
    _c("q2", "int64", "codes seen in exactly two"),
    _c("estimated_total", "float64", "the Chao2 (incidence) estimate of all codes T̂"),
    _c("share_observed", "float64", "K / T̂"),
)

AGREEMENT = (
    _c("code_id", "string", "the code ('all' for the pooled row)"),
    _c("n_units", "int64", "segments both coders reviewed"),
    _c("n_a", "int64", "units coder a coded"),
    _c("n_b", "int64", "units coder b coded"),
    _c("n_both", "int64", "units both coded"),
    _c("agreement", "float64", "share of units where they agree"),
    _c("kappa", "float64", "Cohen's kappa (NaN where undefined)"),
)

ALPHA = (
    _c("code_id", "string", "the code ('all' pooled)"),
    _c("n_units", "int64", "units"),
    _c("n_coders", "int64", "coders"),
    _c("alpha", "float64", "Krippendorff's alpha"),
)

DISAGREEMENTS = (
    _c("segment_id", "string", "the segment"),
    _c("code_id", "string", "the code"),
    _c("coded_by", "string", "the coder who gave it"),
    _c("not_by", "string", "the coder who did not"),
)

EMERGENT_THEMES = (
    _c("theme", "int64", "1, 2 … by size"),
    _c("language", "string", "es or en"),
    _c("n_segments", "int64", "segments in the theme"),
    _c("n_documents", "int64", "their documents"),
    _c("n_participants", "int64", "their participants"),
    _c("terms", "string", "distinctive words, as they appear in the text"),
    _c("quotes", "object", "example quotes (list)"),
    _c("segment_ids", "object", "the theme's segments (list)"),
    _c("nearest_code", "string", "the closest code of the codebook"),
    _c("similarity", "float64", "0–1; low means new"),
)

IMPORT_REPORT = (
    _c("what", "string", "the kind of thing in the file (a Set, a memo on a selection, a PDF source …)", **_ID),
    _c("count", "int64", "how many of them"),
    _c("outcome", "string",
       "not imported, imported (as it was), imported as note, imported as attribute, renamed, changed, converted "
       "or guessed"),
    _c("why", "string", "why, and what to do to keep it"),
    _c("where", "string", "lines of the project file (first few), or other details"),
)

IMPORTED_NOTES = (
    _c("doc_id", "string", "the document it is about (<NA>: about the whole project)"),
    _c("kind", "string", "annotation, source memo, case memo, code memo, project memo or journal"),
    _c("name", "string", "its title in the other tool"),
    _c("author", "string", "who wrote it, when the file says"),
    _c("created_at", "string", "when, as the file says"),
    _c("start", "Int64", "for an annotation: where the annotated words start in the document text"),
    _c("end", "Int64", "where they end"),
    _c("quote", "string", "the annotated words"),
    _c("text", "string", "the note itself", **_ID),
)

_ATTRS = "the document's attribute columns (role, district, stage, round …)"

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("documents", DOCUMENTS, "one row per document", "corpus.documents or project.documents",
          "from a project, unit, added_at and updated_at; then " + _ATTRS),
    Table("segments", SEGMENTS, "one row per segment", "corpus.segments or project.segments",
          "from a project, text_sha; then " + _ATTRS),
    Table("suggestions", SUGGESTIONS, "one row per suggested (segment, code)", "qc.suggest(...) or coder.suggest(...)",
          "after an ensemble (qc.suggest), rank: 1 is the segment's best"),
    Table("suggestion_runs", SUGGESTION_RUNS, "one row per stored suggestion run: which coders, which parameters",
          "project.suggestion_runs"),
    Table("decisions", DECISIONS, "the current decisions: the latest per (segment, code, coder) and span",
          "qc.decisions(project)"),
    Table("decision_history", DECISIONS, "every decision ever made, oldest first, orphans included",
          "qc.decisions(project, history=True)"),
    Table("coded_quotes", CODED_QUOTES, "current accept or manual decisions with their words and speaker",
          "qc.coded_quotes(project)", _ATTRS),
    Table("codes", CODES, "one row per code of a codebook", "codebook.to_frame()",
          "the per-language columns are there for the codebook's languages only"),
    Table("load_report", LOAD_REPORT, "one row per input file or problem of a load", "qc.load_corpus(...)"),
    Table("corpus_changes", CORPUS_CHANGES, "one row per document added to a project", "project.add_corpus(corpus)"),
    Table("codebook_changes", CODEBOOK_CHANGES, "one row per change of a code between two codebook versions",
          "qc.codebook_changes(old, new)"),
    Table("codebook_set", CODEBOOK_SET, "one row per change a new codebook version made, with what it did to "
          "the decisions", "qc.set_codebook(project, codebook)"),
    Table("taguette_codebook", TAGUETTE_CODEBOOK, "one row per code, as Taguette imports a codebook (CSV)",
          "qualcode.codebook.taguette.taguette_frame(codebook)"),
    Table("evaluation", EVALUATION, "per system, level and code: agreement of suggestions with a human coding",
          "qc.evaluate(suggestions, gold)"),
    Table("evaluation_summary", EVALUATION_SUMMARY, "per system: cross-validated agreement with people's coding",
          "qc.evaluate_project(project).summary"),
    Table("learning_curve", LEARNING_CURVE, "per system, sampling and size: held-out agreement after learning",
          "qc.evaluate_project(project).curve"),
    Table("reliability", RELIABILITY, "per system and score bin: the share of suggestions people coded",
          "qc.evaluate_project(project).reliability"),
    Table("review_sheet", REVIEW_SHEET, "one row per row of a review workbook", "qc.read_review_sheet(path)"),
    Table("review_outcomes", REVIEW_OUTCOMES, "what happened to each row of an applied review workbook",
          "qc.apply_review(project, review)"),
    Table("review_table", REVIEW_TABLE, "each suggestion to review with its segment, for the workbook and the widget",
          "qualcode.review.table.review_table(project, suggestions)",
          "the participant attribute columns come before question; rows sorted by doc_id then start"),
    Table("review_queue", REVIEW_QUEUE, "one row per suggestion to review in the widget", "ReviewQueue.table"),
    Table("codings", CODINGS, "one row per coded (segment, code)", "qc.coded_quotes(project)",
          "any other column is kept (attributes are used when asked for)"),
    Table("frequencies", FREQUENCIES, "per code: how often it comes up", "qc.code_frequencies(codings)"),
    Table("code_by_attribute", CODE_BY_ATTRIBUTE, "per code and attribute value", "qc.code_by_attribute(codings)",
          "the by column(s) follow code_id"),
    Table("cooccurrence", COOCCURRENCE, "per pair of codes found together", "qc.cooccurrence(codings)"),
    Table("first_appearance", FIRST_APPEARANCE, "per document in analysis order", "qc.first_appearance(codings)"),
    Table("saturation", SATURATION, "per group: the saturation assessment", "qc.saturation(codings)"),
    Table("saturation_orderings", SATURATION_ORDERINGS, "per group: saturation over random document orders",
          "qc.saturation_orderings(codings)"),
    Table("unseen_codes", UNSEEN_CODES, "per group: the estimated number of codes not yet seen",
          "qc.unseen_codes(codings)"),
    Table("agreement", AGREEMENT, "per code: agreement of two coders", "qc.cohen_kappa(codings, a, b)"),
    Table("alpha", ALPHA, "per code: agreement of several coders", "qc.krippendorff_alpha(codings)"),
    Table("disagreements", DISAGREEMENTS, "one row per (segment, code) two coders disagree on",
          "qc.disagreements(codings, a, b)", "doc_id and text when segments are given; sorted by code"),
    Table("import_report", IMPORT_REPORT, "one row per kind of thing a REFI-QDA import did not take as it was",
          "qc.import_report(project) or qualcode.export.read_qdpx(path).report"),
    Table("imported_notes", IMPORTED_NOTES, "memos of another tool with no coding to hang on: annotations, journals …",
          "qc.imported_notes(project) or qualcode.export.read_qdpx(path).notes"),
    Table("emergent_themes", EMERGENT_THEMES, "candidate themes from uncoded participant segments",
          "qc.emergent_themes(segments, codings)"),
)}


#: Columns that are qualcode's own, never a study's attributes: those of the corpus and project tables (documents,
#: segments, decisions, coded quotes, suggestions), the project's bookkeeping, and what the report adds to quotes.
#: The one list every place uses to tell attributes from them: an attribute sheet may not use one (its key column
#: and ``language`` aside, see :data:`qualcode.io.tables.RESERVED`), a ``.qdpx`` variable so named is imported
#: renamed, and neither the ``.qdpx`` writer, the report nor the frequency tables take one for an attribute.
NOT_ATTRIBUTES: frozenset[str] = frozenset({
    *(c.name for table in (DOCUMENTS, SEGMENTS, DECISIONS, CODED_QUOTES, SUGGESTIONS) for c in table),
    "unit", "added_at", "updated_at", "attributes",  # the project's documents table, and its stored attributes
    "code", "dimension", "tag", "quote", "quote_now", "quote_then", "text", "memo",  # what the report adds
})


def _table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise ParameterError(f"unknown table {name!r}; valid tables are {sorted(TABLES)}.") from None


def columns(name: str) -> list[str]:
    """The declared column names of table ``name``, in order.

    Examples
    --------
    >>> columns("cooccurrence")
    ['code_a', 'code_b', 'n', 'jaccard']
    """
    return _table(name).names


def typed_table(name: str, records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (dicts) as table ``name``: the declared columns in order, with their dtypes (extra keys dropped).

    Examples
    --------
    >>> frame = typed_table("cooccurrence", [{"code_a": "a", "code_b": "b", "n": 2, "jaccard": 0.5}])
    >>> frame.dtypes.astype(str).tolist()
    ['string', 'string', 'int64', 'float64']
    """
    table = _table(name)
    if not records:
        return empty_table(name)
    frame = pd.DataFrame([{c.name: r.get(c.name) for c in table.columns} for r in records], columns=table.names)
    return frame.astype({c.name: c.dtype for c in table.columns if c.dtype != "object"})


def empty_table(name: str) -> pd.DataFrame:
    """An empty frame with the declared columns and dtypes of table ``name``.

    Examples
    --------
    >>> empty_table("segments").shape
    (0, 12)
    """
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in _table(name).columns})


# -- the checker ----------------------------------------------------------------------------------------------------


class SchemaError(ParameterError):
    """A table does not match its declaration.

    ``table`` is the table's name and ``issues`` a DataFrame (``table``,
    ``column``, ``problem``) listing every problem found, not only the first.
    """


_WORDS = {"string": "text", "int": "whole numbers", "float": "numbers", "bool": "true/false values",
          "object": "values"}


def _issues(frame: pd.DataFrame, wanted: Sequence[Column], *, values: bool) -> list[tuple[str, str]]:
    """(column, problem) pairs: missing columns first, then dtype kinds and nulls, in declaration order."""
    present = set(frame.columns)
    problems = [(c.name, "missing") for c in wanted if c.name not in present]
    if values:
        dtypes = frame.dtypes
        for column in wanted:
            if column.name not in present:
                continue
            if column.strict and _kind(dtypes[column.name]) not in _KINDS.get(column.kind, (column.kind,)):
                problems.append((column.name, f"holds {dtypes[column.name]}, not {_WORDS[column.kind]}"))
            if not column.nullable:
                n = int(frame[column.name].isna().sum())
                if n:
                    problems.append((column.name, f"has {n} empty value(s)"))
    return problems


def check(frame: pd.DataFrame, name: str, *, lazy: bool = True, columns: Sequence[str] | None = None,
          values: bool = True, where: str | None = None) -> pd.DataFrame:
    """Check ``frame`` against the declaration of table ``name``; return it unchanged.

    Parameters
    ----------
    frame : DataFrame
    name : str
        A declared table (a key of :data:`TABLES`).
    lazy : bool
        Report every problem at once (default), or stop at the first.
    columns : sequence of str, optional
        Check only these columns (those a function reads; a name the
        declaration lacks, such as an attribute, is checked for presence);
        default: every required column of the declaration.
    values : bool
        Also check dtype kinds of strict columns and nulls in non-null ones
        (vectorised, one pass per such column); ``False`` checks only that the
        columns are there.
    where : str, optional
        What the frame is, for the message (``"codings, given to saturation()"``).

    Returns
    -------
    DataFrame
        ``frame`` itself.

    Raises
    ------
    SchemaError
        Listing every problem (missing columns, wrong dtype kinds, nulls),
        each naming the table and the column; ``issues`` holds them as a
        table (``table``, ``column``, ``problem``).

    Examples
    --------
    >>> check(empty_table("segments"), "segments").shape
    (0, 12)
    >>> bad = pd.DataFrame({"segment_id": ["a", None], "score": ["high", "low"]})
    >>> check(bad, "suggestions", columns=["segment_id", "code_id", "score"])
    Traceback (most recent call last):
    ...
    qualcode.schemas.SchemaError: the suggestions table has 3 problems: missing column(s) code_id; column segment_id
    has 1 empty value(s); column score holds str, not numbers. It needs segment_id, code_id, score; ...
    """
    table = _table(name)
    if columns is None:
        wanted: list[Column] = [c for c in table.columns if c.required]
    else:
        by_name = {c.name: c for c in table.columns}
        wanted = [by_name.get(c) or Column(c, "object", "") for c in columns]
    subject = f"{where}: the {name} table" if where else f"the {name} table"
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"{subject} must be a DataFrame, not {type(frame).__name__}.", table=name,
                          issues=pd.DataFrame({"table": [name], "column": [""], "problem": ["not a DataFrame"]}))
    found = _issues(frame, wanted, values=values)
    if not found:
        return frame
    if not lazy:
        found = found[:1]
    missing = [col for col, problem in found if problem == "missing"]
    words = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + [
        f"column {col} {problem}" for col, problem in found if problem != "missing"]
    count = f"{len(found)} problem{'s' if len(found) > 1 else ''}"
    needed = ", ".join(c.name for c in wanted)
    hint = f" It needs {needed}" + (f"; {table.source} gives them." if table.source else ".")
    raise SchemaError(f"{subject} has {count}: {'; '.join(words)}.{hint}", table=name,
                      issues=pd.DataFrame({"table": name, "column": [c for c, _ in found],
                                           "problem": [p for _, p in found]}))


# -- docstrings and the boundary decorators --------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])
_SPEC = re.compile(r"^\s*(\w+)\s*(?:\[(.*)\])?\s*$")


def column_doc(name: str, indent: str = "") -> str:
    """The columns of table ``name`` as a bullet list for a numpydoc Returns section.

    Examples
    --------
    >>> print(column_doc("cooccurrence"))
    - ``code_a``: one code
    - ``code_b``: the other (code_a < code_b)
    - ``n``: units with both
    - ``jaccard``: n over units with either
    """
    table = _table(name)
    lines = []
    for c in table.columns:
        lines.extend(textwrap.wrap(f"- ``{c.name}``: {c.meaning}", width=100 - len(indent),
                                   subsequent_indent="  ", break_on_hyphens=False))
    if table.extra:
        lines.extend(textwrap.wrap(f"Then: {table.extra}.", width=100 - len(indent), break_on_hyphens=False,
                                   subsequent_indent="  "))
    return "\n".join(indent + line if i else line for i, line in enumerate(lines))


def _fill(doc: str | None, name: str) -> str | None:
    if not doc or "{columns}" not in doc:
        return doc
    line = next(x for x in doc.splitlines() if "{columns}" in x)
    indent = line[: len(line) - len(line.lstrip())]
    return doc.replace("{columns}", column_doc(name, indent))


def _parse(spec: str) -> tuple[str, list[str] | None]:
    match = _SPEC.match(spec)
    if not match:
        raise ParameterError(f"bad table spec {spec!r}; write 'segments' or 'segments[segment_id, text]'.")
    name, cols = match.group(1), match.group(2)
    _table(name)
    return name, [c.strip() for c in cols.split(",") if c.strip()] if cols is not None else None


def returns(name: str) -> Callable[[F], F]:
    """Decorate a function returning table ``name``: fill ``{columns}`` in its docstring, check what it returns.

    The check is the declared required columns, strict dtype kinds and
    non-null columns (vectorised: no per-row Python).

    Examples
    --------
    >>> @returns("cooccurrence")
    ... def pairs():
    ...     '''Returns the pairs: {columns}'''
    ...     return empty_table("cooccurrence")
    >>> pairs().columns.tolist()
    ['code_a', 'code_b', 'n', 'jaccard']
    """
    _table(name)

    def decorate(func: F) -> F:
        func.__doc__ = _fill(func.__doc__, name)
        where = f"{func.__qualname__}() returned something that is not the declared table"

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return check(func(*args, **kwargs), name, where=where)

        return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature, mypy cannot see it

    return decorate


def _frame_only(annotation: object) -> bool:
    # Annotations are strings here (from __future__ import annotations).
    text = str(annotation).replace(" ", "")
    return text in ("pd.DataFrame", "DataFrame", "pd.DataFrame|None", "DataFrame|None")


def takes(**specs: str) -> Callable[[F], F]:
    """Decorate a function that takes tables: check that each named DataFrame argument has the columns it reads.

    ``@takes(codings="codings[doc_id, code_id]")`` checks the ``codings``
    argument for those columns of the ``codings`` declaration; ``"segments"``
    alone checks every required column. An argument annotated as a DataFrame
    alone (or ``DataFrame | None``) must be one; where the annotation allows
    more (a list of ids, say), anything but a DataFrame is left to the
    function. Only the column set is checked: cheap, and no stricter than the
    hand-written checks it replaces.
    """
    parsed = {param: _parse(spec) for param, spec in specs.items()}

    def decorate(func: F) -> F:
        signature = inspect.signature(func)
        names = list(signature.parameters)
        unknown = [p for p in parsed if p not in names]
        if unknown:
            raise ParameterError(f"{func.__qualname__} has no parameter(s) {unknown}.")
        positions = {param: names.index(param) for param in parsed}
        label = func.__qualname__
        only_frames = {param for param in parsed if _frame_only(signature.parameters[param].annotation)}

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for param, (name, cols) in parsed.items():
                value = kwargs[param] if param in kwargs else (
                    args[positions[param]] if positions[param] < len(args) else None)
                if isinstance(value, pd.DataFrame) or (value is not None and param in only_frames):
                    check(value, name, columns=cols, values=False, where=f"{param}, given to {label}()")
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature, mypy cannot see it

    return decorate

