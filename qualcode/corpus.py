"""The corpus: documents and their segments as two DataFrames.

Segmentation happens here. A segment is a speaker turn (the default), a
paragraph of a turn, or a sentence of a turn; its ``start``/``end`` always
index the document's canonical text, and its ``segment_id`` depends only on
the document id, its text and how many identical segments precede it, so
loading the same file again gives the same ids, and so does adding a
paragraph elsewhere in the document.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from dataclasses import field as dc_field

import pandas as pd

from .errors import ParameterError
from .nlp.normalize import fold_label
from .nlp.pipeline import sentence_spans
from .schemas import DOCUMENTS, SEGMENTS, UNITS, check_unit

__all__ = [
    "INTERVIEWER_WORDS",
    "UNITS",
    "Corpus",
    "ParsedTranscript",
    "ReadDocument",
    "Turn",
    "questions",
    "segment_id",
    "speaker_role",
]

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def segment_id(doc_id: str, text: str, occurrence: int = 0) -> str:
    """The stable id of a segment: 16 hex digits of BLAKE2b over id, text and occurrence.

    Examples
    --------
    >>> segment_id("int_d02_final", "Sí.") == segment_id("int_d02_final", "Sí.")
    True
    >>> segment_id("int_d02_final", "Sí.", 1) == segment_id("int_d02_final", "Sí.")
    False
    """
    payload = f"{doc_id}\x1f{text}\x1f{occurrence}".encode()
    return hashlib.blake2b(payload, digest_size=8).hexdigest()


# Labels that mark the person asking, folded (see nlp.normalize.fold_label). Matched on the folded first word(s);
# io/text.py's role words extend them with the other role words a speaker label may start with.
INTERVIEWER_WORDS = {
    "entrevistador", "entrevistadora", "entrevistador/a", "entrevistador(a)", "entrevistadores",
    "e", "i", "int", "interviewer", "moderador", "moderadora", "moderador/a", "moderator",
    "facilitador", "facilitadora", "facilitator", "investigador", "investigadora",
    "investigador/a", "researcher", "pregunta", "q", "question",
}


@dataclass
class Turn:
    """One speaker turn: the speech is ``text[start:end]`` of the document.

    ``continues`` marks the rest of the previous turn after a time mark inside its speech (the mark is
    not speech, so the turn is cut there): segments keep the previous turn's number, as further parts.
    """

    speaker: str | None
    start: int
    end: int
    timestamp: float | None = None
    line: int = 1
    field: str | None = None
    continues: bool = False


@dataclass
class ParsedTranscript:
    """A document's canonical text and its turns, as every reader returns it.

    ``notes`` are what the reader was unsure about (said in the load report);
    ``counted`` and ``joined`` say, for a file without labels, what was
    counted and how its turns were made (empty ``counted``: the text's lines);
    ``uncertain`` is true when one of them should make the file's report row a
    warning; ``interviewer`` holds the folded labels taken as the interviewer
    for this file (see :func:`qualcode.io.text.find_interviewer`).
    """

    text: str
    turns: list[Turn]
    labelled: bool = True
    notes: list[str] = dc_field(default_factory=list)
    uncertain: bool = False
    interviewer: frozenset[str] = frozenset()
    # What the report counts when no labels were found: the source's lines, and how turns were made
    # (a subtitle file's rendering has fewer lines than the file, so the reader says it).
    counted: str = ""
    joined: str = "one per paragraph"


def speaker_role(label: str | None, *, interviewer: frozenset[str] = frozenset(),
                 labels_in_doc: frozenset[str] = frozenset()) -> str:
    """Classify a speaker label as ``"interviewer"``, ``"participant"`` or ``"unknown"``.

    ``interviewer`` holds extra folded labels that the user says (or the file's
    evidence shows, see :func:`qualcode.io.text.find_interviewer`) belong to the interviewer.
    ``P`` is read as *Pregunta* (interviewer) only when the same document also
    has ``R`` (*Respuesta*) turns.

    Examples
    --------
    >>> speaker_role("ENTREVISTADORA"), speaker_role("Directora 3"), speaker_role(None)
    ('interviewer', 'participant', 'unknown')
    """
    if label is None:
        return "unknown"
    folded = fold_label(label)
    if folded in interviewer:
        return "interviewer"
    if folded == "p":
        return "interviewer" if "r" in labels_in_doc else "participant"
    first = folded.split(" ")[0]
    if folded in INTERVIEWER_WORDS or (first in INTERVIEWER_WORDS and len(first) > 1):
        return "interviewer"
    return "participant"


@dataclass
class ReadDocument:
    """A read document before segmentation: what the readers (:mod:`qualcode.io`) hand to :class:`Corpus`.

    ``parsed`` holds its canonical text and speaker turns; ``language`` may be ``""`` until
    :func:`qualcode.io.assign_languages` sets it; ``attributes`` are a survey response's own columns.
    """

    doc_id: str
    source_path: str
    format: str
    encoding: str
    sha256: str
    parsed: ParsedTranscript
    language: str
    attributes: dict[str, str] | None = None


def _split(parsed: ParsedTranscript, unit: str, language: str) -> list[list[tuple[int, int]]]:
    """Per turn, the (start, end) spans of its segments."""
    text = parsed.text
    if unit == "turn":
        return [[(t.start, t.end)] for t in parsed.turns]
    if unit == "paragraph":
        out = []
        for t in parsed.turns:
            spans = []
            pos = t.start
            for piece in _PARAGRAPH_BREAK.split(text[t.start:t.end]):
                begin = text.index(piece, pos) if piece else pos
                stripped = piece.strip()
                if stripped:
                    s = begin + (len(piece) - len(piece.lstrip()))
                    spans.append((s, s + len(stripped)))
                pos = begin + len(piece)
            out.append(spans)
        return out
    relative = sentence_spans([text[t.start:t.end] for t in parsed.turns], language)
    return [[(t.start + a, t.start + b) for a, b in spans] for t, spans in zip(parsed.turns, relative, strict=True)]


def _build(docs: list[ReadDocument], unit: str, interviewer: frozenset[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    seg: dict[str, list] = {c.name: [] for c in SEGMENTS}
    doc_rows: dict[str, list] = {c.name: [] for c in DOCUMENTS}
    for doc in docs:
        parsed = doc.parsed
        labels = frozenset(fold_label(t.speaker) for t in parsed.turns if t.speaker)
        seen: Counter[str] = Counter()
        n_segments = n_words = 0
        turn_no = part = 0
        for turn, spans in zip(parsed.turns, _split(parsed, unit, doc.language), strict=True):
            if not turn.continues or not turn_no:
                turn_no, part = turn_no + 1, 0
            role = speaker_role(turn.speaker, interviewer=interviewer | parsed.interviewer, labels_in_doc=labels)
            if turn.speaker is None and not parsed.labelled:
                role = "participant"
            for start, end in spans:
                part += 1
                text = parsed.text[start:end]
                occurrence = seen[text]
                seen[text] += 1
                seg["segment_id"].append(segment_id(doc.doc_id, text, occurrence))
                seg["doc_id"].append(doc.doc_id)
                seg["turn"].append(turn_no)
                seg["part"].append(part)
                seg["speaker"].append(turn.speaker)
                seg["speaker_role"].append(role)
                seg["start"].append(start)
                seg["end"].append(end)
                seg["timestamp"].append(turn.timestamp)
                seg["field"].append(turn.field)
                seg["text"].append(text)
                seg["language"].append(doc.language)
                n_segments += 1
                n_words += len(text.split())
        for name, value in (
            ("doc_id", doc.doc_id), ("source_path", doc.source_path), ("format", doc.format),
            ("encoding", doc.encoding), ("language", doc.language), ("sha256", doc.sha256),
            ("n_turns", turn_no), ("n_segments", n_segments), ("n_words", n_words),
            ("labelled", parsed.labelled), ("text", parsed.text),
        ):
            doc_rows[name].append(value)
    documents = pd.DataFrame({c.name: pd.Series(doc_rows[c.name], dtype=c.dtype) for c in DOCUMENTS})
    segments = pd.DataFrame({c.name: pd.Series(seg[c.name], dtype=c.dtype) for c in SEGMENTS})
    return documents, segments


class Corpus:
    """Documents and their segments.

    Build one with :func:`qualcode.load_corpus`. Both tables are pandas
    DataFrames whose columns are declared in :mod:`qualcode.schemas`:
    ``documents`` (``doc_id``, ``source_path``, ``format``, ``encoding``,
    ``language``, ``sha256``, ``n_turns``, ``n_segments``, ``n_words``,
    ``labelled``, ``text``, then attribute columns) and ``segments``
    (``segment_id``, ``doc_id``, ``turn``, ``part``, ``speaker``,
    ``speaker_role``, ``start``, ``end``, ``timestamp``, ``field``, ``text``,
    ``language``, then attribute columns).

    Examples
    --------
    >>> corpus, report = load_corpus("data_samples/transcripts")  # doctest: +SKIP
    >>> corpus.segments.query("speaker_role == 'participant'")[["speaker", "text"]].head()  # doctest: +SKIP
    """

    def __init__(self, documents: pd.DataFrame, segments: pd.DataFrame, *, unit: str = "turn") -> None:
        check_unit(unit)
        self.documents = documents
        self.segments = segments
        self.unit = unit

    @classmethod
    def _from_documents(cls, docs: list[ReadDocument], *, unit: str = "turn",
                        interviewer: frozenset[str] = frozenset()) -> Corpus:
        documents, segments = _build(docs, unit, interviewer)
        return cls(documents, segments, unit=unit)

    @property
    def attributes(self) -> list[str]:
        """Names of the attribute columns merged from the participant sheet."""
        declared = {c.name for c in DOCUMENTS}
        return [c for c in self.documents.columns if c not in declared]

    def text(self, doc_id: str) -> str:
        """The canonical text of document ``doc_id`` (what ``start``/``end`` index)."""
        match = self.documents.loc[self.documents["doc_id"] == doc_id, "text"]
        if match.empty:
            raise ParameterError(f"no document {doc_id!r} in the corpus; see corpus.documents['doc_id'].")
        return str(match.iloc[0])

    def summary(self) -> pd.DataFrame:
        """One row per document: format, language, turns, segments, words, speakers, attributes.

        Columns: ``doc_id``, ``format``, ``language``, ``n_turns``,
        ``n_segments``, ``n_words``, ``n_speakers``, ``n_participant_segments``,
        then the attribute columns.
        """
        segs = self.segments
        speakers = segs.dropna(subset=["speaker"]).groupby("doc_id")["speaker"].nunique()
        participant = segs[segs["speaker_role"] == "participant"].groupby("doc_id").size()
        out = self.documents[["doc_id", "format", "language", "n_turns", "n_segments", "n_words"]].copy()
        out["n_speakers"] = out["doc_id"].map(speakers).fillna(0).astype("Int64")
        out["n_participant_segments"] = out["doc_id"].map(participant).fillna(0).astype("Int64")
        for column in self.attributes:
            out[column] = self.documents[column]
        return out

    def __len__(self) -> int:
        return len(self.documents)

    def __repr__(self) -> str:
        words = int(self.documents["n_words"].sum()) if len(self.documents) else 0
        return (f"Corpus({len(self.documents)} documents, {len(self.segments)} segments "
                f"(unit={self.unit!r}), {words:,} words)")


def questions(segments: pd.DataFrame) -> pd.Series:
    """For every segment, the text of the last interviewer turn before it in its document (NaN when none).

    What the review table shows beside each segment and what the LLM coder sends with it as context.

    Parameters
    ----------
    segments : DataFrame
        With ``doc_id``, ``start``, ``text`` and ``speaker_role``.

    Returns
    -------
    Series
        Aligned with ``segments``' index.

    Examples
    --------
    >>> segs = pd.DataFrame({"doc_id": ["d", "d", "d"], "start": [0, 10, 20], "text": ["¿Cómo?", "Bien.", "Sí."],
    ...                      "speaker_role": ["interviewer", "participant", "participant"]})
    >>> questions(segs).tolist()
    [nan, '¿Cómo?', '¿Cómo?']
    """
    # Stable: segments starting at the same offset keep their order, so the answer never depends on the sort.
    ordered = segments.sort_values(["doc_id", "start"], kind="stable")
    asked = ordered["text"].where(ordered["speaker_role"] == "interviewer")
    previous = asked.groupby(ordered["doc_id"]).shift(1)
    previous = previous.groupby(ordered["doc_id"]).ffill()
    return previous.reindex(segments.index)
