"""Plain-text transcripts with speaker labels (``.txt``, ``.md``).

Transcription services, Word exports and hand-typed notes label speakers in
many ways; every variant below is recognised, with optional timestamps::

    ENTREVISTADORA: ...            Entrevistador/a: ...        E: ...
    D1: ...                        Directora 3 (00:02:11): ... [00:01:02] Speaker 1: ...
    **Moderadora**: ...            **Moderadora:** ...
    Entrevistadora:                (a label alone on its line; speech on the next lines)

A line is a speaker turn only when its label looks like a speaker: a known
role word, a code such as ``D1`` or ``PA4``, a word and a number, a label in
capitals or bold, a name the user passes, or a name used as a label at least
twice. A transcriber's ``Nota: ...`` inside speech stays speech.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

from ..nlp.normalize import fold_label

__all__ = ["Turn", "ParsedTranscript", "parse_transcript", "parse_timestamp", "speaker_role"]

_TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_HEAD = re.compile(
    rf"""^[ \t]*
    (?:[\[(]?(?P<ts1>{_TS})[\])]?[ \t]*(?:-[ \t]*)?)?
    (?P<md>\*\*|__)?[ \t]*
    (?P<label>[^\W\d_](?:[^\W_]|[ .'/\-]){{0,47}}?)
    [ \t]*(?:\*\*|__)?
    [ \t]*(?:[\[(](?P<ts2>{_TS})[\])])?
    [ \t]*(?:\*\*|__)?[ \t]*:(?!\d)[ \t]*(?:\*\*|__)?[ \t]*""",
    re.X,
)
_TIME_ONLY = re.compile(rf"^[ \t]*[\[(]?{_TS}[\])]?[ \t]*$")

# Labels that mark the person asking. Matched on the folded first word(s).
_INTERVIEWER = {
    "entrevistador", "entrevistadora", "entrevistador/a", "entrevistador(a)", "entrevistadores",
    "e", "i", "int", "interviewer", "moderador", "moderadora", "moderador/a", "moderator",
    "facilitador", "facilitadora", "facilitator", "investigador", "investigadora",
    "investigador/a", "researcher", "pregunta", "q", "question",
}
# First words that make a label a speaker even when it appears once.
_ROLE_WORDS = _INTERVIEWER | {
    "directora", "director", "directoras", "educadora", "educador", "participante", "participant",
    "speaker", "hablante", "interlocutor", "interlocutora", "profesional", "docente", "tecnica",
    "tecnico", "apoyo", "asistente", "respondent", "respondente", "interviewee", "entrevistada",
    "entrevistado", "persona", "principal", "coach", "teacher", "profesora", "profesor",
    "coordinadora", "coordinador", "jefa", "jefe", "asesora", "asesor", "respuesta", "answer",
    "p", "r", "a", "sra", "sr", "sra.", "sr.", "dra", "dra.",
}
# Words that end in a colon in speech or headers but never name a speaker.
_NOT_SPEAKERS = {
    "nota", "notas", "note", "notes", "ejemplo", "example", "obs", "observacion", "ps", "pd",
    "ojo", "importante", "http", "https", "www", "fecha", "date", "hora", "time", "lugar",
    "place", "asunto", "tema", "duracion", "duration", "transcripcion", "transcript",
    "entonces", "bueno", "pero", "porque", "y", "o", "si", "no", "ya", "claro", "mira", "oye",
    "so", "well", "but", "and", "yes", "then", "also", "como", "que", "lo", "la", "el", "es",
    "eso", "esto", "ahora", "despues", "antes", "primero", "segundo", "luego", "finally",
    "first", "second", "o sea", "or", "because", "like", "ok", "okay", "dijo", "dije", "said",
    "pregunto", "asked", "resumen", "summary", "objetivo", "objective", "participantes",
    "participants", "asistentes", "attendees", "lugar y fecha",
}
_CODE_LIKE = re.compile(r"^[a-z]{1,3}\s?\d{1,3}$")
_WORD_AND_NUMBER = re.compile(r"^[^\W\d_]+(?: [^\W\d_]+)? \d{1,3}$")


@dataclass
class Turn:
    """One speaker turn: the speech is ``text[start:end]`` of the document."""

    speaker: str | None
    start: int
    end: int
    timestamp: float | None = None
    line: int = 1
    field: str | None = None


@dataclass
class ParsedTranscript:
    """A document's canonical text and its turns, as every reader returns it."""

    text: str
    turns: list[Turn]
    labelled: bool = True
    notes: list[str] = dc_field(default_factory=list)


def parse_timestamp(value: str) -> float:
    """``'00:02:11'`` → 131.0; ``'1:02'`` → 62.0; ``'00:00:01,500'`` → 1.5.

    Examples
    --------
    >>> parse_timestamp("01:02:03.5")
    3723.5
    """
    value = value.strip().replace(",", ".")
    parts = value.split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def speaker_role(label: str | None, *, interviewer: frozenset[str] = frozenset(),
                 labels_in_doc: frozenset[str] = frozenset()) -> str:
    """Classify a speaker label as ``"interviewer"``, ``"participant"`` or ``"unknown"``.

    ``interviewer`` holds extra folded labels that the user says belong to the
    interviewer. ``P`` is read as *Pregunta* (interviewer) only when the same
    document also has ``R`` (*Respuesta*) turns.

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
    if folded in _INTERVIEWER or (first in _INTERVIEWER and len(first) > 1):
        return "interviewer"
    return "participant"


def _candidate(line: str) -> tuple[str, str | None, int, bool] | None:
    """If ``line`` starts with something label-shaped, return (label, ts, speech_col, bold)."""
    match = _HEAD.match(line)
    if match is None:
        return None
    label = match.group("label").strip().rstrip("*_ ").strip()
    if not label or len(label.split()) > 4:
        return None
    ts = match.group("ts1") or match.group("ts2")
    return label, ts, match.end(), match.group("md") is not None


def _accepted(label: str, bold: bool, count: int, forced: frozenset[str]) -> bool:
    folded = fold_label(label)
    if folded in forced:
        return True
    if folded in _NOT_SPEAKERS or folded.split(" ")[0] in {"http", "https"}:
        return False
    first = folded.split(" ")[0]
    if first in _ROLE_WORDS or _CODE_LIKE.match(folded) or _WORD_AND_NUMBER.match(folded):
        return True
    letters = [ch for ch in label if ch.isalpha()]
    if bold or (len(letters) >= 2 and label.isupper()):
        return True
    # A capitalised name (a pseudonym) used as a label more than once.
    return count >= 2 and label[0].isupper() and len(folded.split(" ")) <= 3


def parse_transcript(text: str, *, path: str | Path | None = None,
                     speakers: frozenset[str] = frozenset()) -> ParsedTranscript:
    """Split a normalised transcript into speaker turns.

    Parameters
    ----------
    text : str
        Normalised text (``\\n`` newlines, NFC), as :func:`read_text` returns it.
    path : str or Path, optional
        Used in messages only.
    speakers : frozenset of str
        Folded labels always accepted as speakers (for unusual label styles).

    Returns
    -------
    ParsedTranscript
        ``turns`` cover every non-blank line: speech after a label belongs to
        that speaker; lines before the first label form an unlabelled turn;
        a file without any label becomes one unlabelled turn per paragraph.

    Examples
    --------
    >>> p = parse_transcript("E: ¿Cómo parte el día?\\nD1 (00:00:09): Con el WhatsApp.\\n")
    >>> [(t.speaker, p.text[t.start:t.end], t.timestamp) for t in p.turns]
    [('E', '¿Cómo parte el día?', None), ('D1', 'Con el WhatsApp.', 9.0)]
    """
    lines: list[tuple[int, str]] = []
    offset = 0
    for raw in text.split("\n"):
        lines.append((offset, raw))
        offset += len(raw) + 1

    candidates: dict[int, tuple[str, str | None, int, bool]] = {}
    counts: dict[str, int] = {}
    for index, (_, line) in enumerate(lines):
        found = _candidate(line)
        if found is not None:
            candidates[index] = found
            key = fold_label(found[0])
            counts[key] = counts.get(key, 0) + 1
    accepted = {
        index for index, (label, _, _, bold) in candidates.items()
        if _accepted(label, bold, counts[fold_label(label)], speakers)
    }
    if not accepted:
        return _paragraph_turns(text, lines)

    turns: list[Turn] = []
    current: Turn | None = None
    content_end: int | None = None
    pending_ts: float | None = None
    notes: list[str] = []

    def close() -> None:
        nonlocal current
        if current is not None and content_end is not None and content_end > current.start:
            current.end = content_end
            turns.append(current)
        current = None

    for index, (line_start, line) in enumerate(lines):
        if index in accepted:
            close()
            content_end = None
            label, ts, col, _ = candidates[index]
            timestamp = parse_timestamp(ts) if ts else pending_ts
            pending_ts = None
            current = Turn(label, line_start + col, line_start + col, timestamp, index + 1)
            if line[col:].strip():
                content_end = line_start + len(line.rstrip())
            continue
        if _TIME_ONLY.match(line):
            pending_ts = parse_timestamp(line.strip().strip("[]()"))
            continue
        if not line.strip():
            continue
        if current is None:
            # Text before the first label (a title, a header): kept, unlabelled.
            current = Turn(None, line_start, line_start, pending_ts, index + 1)
            notes.append(f"line {index + 1}: text before the first speaker label kept as an unlabelled turn")
        if content_end is None:
            current.start = line_start + (len(line) - len(line.lstrip()))
        content_end = line_start + len(line.rstrip())
    close()
    return ParsedTranscript(text, turns, True, notes)


def _paragraph_turns(text: str, lines: list[tuple[int, str]]) -> ParsedTranscript:
    turns: list[Turn] = []
    current: Turn | None = None
    for index, (line_start, line) in enumerate(lines):
        if not line.strip():
            if current is not None:
                turns.append(current)
                current = None
            continue
        end = line_start + len(line.rstrip())
        if current is None:
            current = Turn(None, line_start + len(line) - len(line.lstrip()), end, None, index + 1)
        else:
            current.end = end
    if current is not None:
        turns.append(current)
    return ParsedTranscript(text, turns, False, [])
