"""The column contract of qualcode's tables.

Each table is a pandas DataFrame; this module lists its columns once, with
their dtype and meaning, and checks a frame against them. Attribute columns
from the participant sheet (``role``, ``district``, ``stage``, ``round`` …)
follow the declared columns in ``documents`` and ``segments``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .errors import ParameterError

__all__ = ["DOCUMENTS", "SEGMENTS", "SUGGESTIONS", "TABLES", "Column", "empty_table", "validate_table"]


@dataclass(frozen=True)
class Column:
    """One declared column: name, pandas dtype and meaning."""

    name: str
    dtype: str
    meaning: str


DOCUMENTS = (
    Column("doc_id", "string", "document id: the file name without suffix (NFC), or file#row for survey answers"),
    Column("source_path", "string", "the file the document was read from"),
    Column("format", "string", "txt, md, docx, vtt, srt, csv or xlsx"),
    Column("encoding", "string", "the detected text encoding (utf-8, utf-8-bom, utf-16-bom, cp1252, …)"),
    Column("language", "string", "es or en: given, from the attributes sheet, or detected"),
    Column("sha256", "string", "SHA-256 of the file's bytes (of the response's text for survey answers)"),
    Column("n_turns", "Int64", "number of speaker turns"),
    Column("n_segments", "Int64", "number of segments at the corpus's unit"),
    Column("n_words", "Int64", "white-space separated words in all segments"),
    Column("labelled", "boolean", "whether speaker labels were found"),
    Column("text", "string", "the canonical document text that segment offsets index"),
)

SEGMENTS = (
    Column("segment_id", "string", "stable id: a hash of the document id, the text and its occurrence number"),
    Column("doc_id", "string", "the document the segment belongs to"),
    Column("turn", "Int64", "1-based speaker-turn number in the document"),
    Column("part", "Int64", "1-based paragraph or sentence number within the turn (1 for unit='turn')"),
    Column("speaker", "string", "the speaker label as written (Directora 3, E, PA4); <NA> when unlabelled"),
    Column("speaker_role", "string", "interviewer, participant or unknown (text before the first label)"),
    Column("start", "Int64", "character offset where the segment starts in the document text"),
    Column("end", "Int64", "character offset where it ends: document_text[start:end] == text"),
    Column("timestamp", "Float64", "seconds from the start of the recording, when the transcript says"),
    Column("field", "string", "the survey question column an answer came from; <NA> for interviews"),
    Column("text", "string", "the segment's text"),
    Column("language", "string", "es or en, the document's language"),
)

SUGGESTIONS = (
    Column("segment_id", "string", "the segment the code is suggested for"),
    Column("doc_id", "string", "its document"),
    Column("code_id", "string", "the suggested code"),
    Column("method", "string", "keyword, embedding, learned, or several joined by '+' after an ensemble"),
    Column("score", "Float64",
           "0–1, higher is more confident; calibrated so 0.5 means 'worth a look' for every method"),
    Column("evidence", "string", "why, in words: the matched keywords, or the nearest example and its similarity"),
    Column("spans", "object", "list of [start, end] offsets in the document text of the words that carry the code"),
    Column("codebook_version", "string", "the codebook version the suggestion was made with"),
)

TABLES = {"documents": DOCUMENTS, "segments": SEGMENTS, "suggestions": SUGGESTIONS}


def empty_table(name: str) -> pd.DataFrame:
    """An empty frame with the declared columns and dtypes of table ``name``."""
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in TABLES[name]})


def validate_table(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Check that ``frame`` has every declared column of table ``name``.

    Raises
    ------
    ParameterError
        Listing every missing column at once.

    Examples
    --------
    >>> validate_table(empty_table("segments"), "segments").shape
    (0, 12)
    """
    if name not in TABLES:
        raise ParameterError(f"unknown table {name!r}; valid tables are {sorted(TABLES)}.")
    missing = [c.name for c in TABLES[name] if c.name not in frame.columns]
    if missing:
        raise ParameterError(
            f"the {name} table is missing column(s) {missing}; it needs {[c.name for c in TABLES[name]]}."
        )
    return frame
