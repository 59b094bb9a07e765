"""Plain-text transcripts with speaker labels (``.txt``, ``.md``, and the text of ``.docx``).

Speakers are decided per file, from the whole file's evidence, never line by
line: every line that *could* open a turn is collected first, then the labels
that recur, sit at line starts in the file's consistent shape, or are known
role words are taken; a label used once is taken only when it has the file's
label shape and is a plausible name, and then it is reported.

Label grammar (one example each)
--------------------------------
A label opens a line and is 1-4 words besides particles such as *de*, *del*,
*la* (letters, digits, ``.'/()-_``)::

    Entrevistadora: ¿Cómo parte el día?        label, colon, speech
    Entrevistadora:                            label alone; speech on the next lines
    **Moderadora**: ...   **Moderadora:** ...  bold (Markdown)
    [SPEAKER_00]: ...     SPEAKER_00: ...      WhisperX / pyannote diarization
    [00:00:05] Hablante 1: ...                 time, then label and colon
    Directora 3 (00:02:11): ...                label, time, colon
    I: Wie war das? #00:00:05-3#               MAXQDA f4/f5: the mark ends the paragraph (next turn's time)
    Marta Rojas: [00:00:03] ...                label, colon, time in brackets
    Marta Rojas  0:03                          Otter.ai: name and time alone on a line, no colon
    Marta Rojas   1 minute 2 seconds           Microsoft Teams .txt (also "1 minuto 2 segundos")
    [Marta Rojas] 10:15:02                     Zoom saved chat transcript (bracketed name, then time)
    Marta Rojas - 00:01:02                     a dash, bar or dot between name and time
    00:01:02 Marta Rojas                       time then name alone on a line
    00:01:02                                   a time alone on a line: the next label's time
    0:0:0.0 --> 0:0:3.120                      a time (or cue range) line, then the name alone on
    Marta Rojas                                its line, then the speech (Teams .docx, Google Meet)
    ENTREVISTADORA                             a role word, code or capitals alone on a line, no colon,
    ¿Cómo se siente en la red?                 the speech below (taken when such labels recur: see below)
    Marta Rojas                                a person's name alone on a line, no colon, no time, the
    Bueno, yo creo que...                      speech below (taken when names recur and alternate: see below)

Time marks (become the ``timestamp`` column in seconds and leave the text)::

    0:03   1:02   00:01:02   00:01:02.500   00:00:01,500   [01:02]   (00:01:02)   #00:01:02-5#
    [00:00:00.031 --> 00:00:04.112]   1 minute 2 seconds   1 hora 2 minutos 3 segundos

Inside speech, only a bracketed mark, a parenthesised one with hours or an f4 mark is a time mark
(``... y entonces [00:12:31] seguimos ...``; "a las 10:30" and "(10:30)" stay speech). It leaves the
text: the turn is cut there and the speech after it is the turn's next part, with the mark's time (a
mark ending a turn times the next turn). The document text stays the file's text.

Which labels are speakers
-------------------------
* always: a label you name (``speakers=[...]``, ``--speakers``), also as a
  bare line or a header line of any shape; a known role word alone or with a
  number or name (``Entrevistador/a``, ``Moderadora``, ``E``, ``P``/``R``,
  ``Hablante 2``, ``Participante 3``, ``Speaker 1``, ``Interviewer``); a code
  (``D1``, ``PA4``, ``SPEAKER_00``); a label in capitals or bold.
* a plausible name (capitalised words, particles such as *de*, *la*, *van*
  allowed: ``María José Soto Díaz``) used at least twice;
* a plausible name used once, when the file's other labels have the same shape
  (colon or header line, casing, brackets, time mark) and, in files whose turns
  are separated by blank lines, it too follows a blank line. It is reported.
  In mixed case among labels in capitals (``ROSA:`` ... ``Inés:``), when the file
  also shows it is a person's: the line before asks (``¿Inés?``) or is another
  speaker's whole turn not announcing a quote (no ``:`` at its end), or the name
  is written again in the file.

* alone on a line without a colon, speech below: a
  role word or code (``Entrevistadora``, ``E``, ``Participante 2``, ``D1``) or
  short capitals (``MARTA``) that recur in that shape, each followed by speech,
  not another such line (blank-line layouts: after a blank line); a role word
  used once beside them (reported). A heading or a one-word line of speech
  (``NO``, ``Sí.``) used once is not a speaker; capitals used once are reported.
  In a file whose labels have another shape (``Name:``) only role words are.
  A name (``Inés``, ``INÉS``) used once beside role words and capitals only is
  taken, and reported, when the line before asks or the name is written again.
* alone on a line, in mixed case (``Marta Rojas``), when no other label shape
  was found (labels you named alone on their line count as this shape): names (capitalised words, no digits, no
  punctuation at the end) that recur, each after a blank line or a finished
  sentence and followed by speech, that the file never writes in lower case
  and that are no heading word (``Contexto``, ``Entrevista 3``), when the
  labels alternate like turns and someone asks a question; a name used once
  beside them, below the first label, is taken and reported. A list of names
  in speech (after ``...:``, one name under another) stays speech; a report
  whose headings alternate but ask nothing stays unlabelled. Reported, with
  the remedy (``--speakers`` naming the speakers).
* in subtitles where (nearly) every cue opens with ``Name:`` in one shape
  (Zoom), every such name, whatever it looks like (``iPhone de Marta``).
* in subtitles where only some cues open with ``Name:`` (a speaker named
  where they start), two or more plausible names in one shape at cue starts,
  even each used once, when no label was named; the cues without a name
  continue the previous speaker, those before the first name are unnamed
  (reported).

Labels you name add to what the file's evidence finds, never replace it: naming
one speaker (``--speakers "Sofía Castro"``) of a file whose names stand alone on
their lines keeps the other names the file shows as speakers (the row lists
them). A heading taken as a speaker is fixed in the file (end it with a period).

Unicode spaces (no-break U+00A0, narrow no-break U+202F, thin, ideographic, any
category Zs character) count as spaces in this grammar (Otter's
``Marta Rojas\u00a0\u00a00:03``); the document text keeps them.

A line without a label in a WhisperX-style text file (every label a diarization
code such as ``SPEAKER_00:``, each turn one line) is a turn of no speaker (role
unknown), reported: diarization assigned it to nobody. It stays the previous
turn's when it goes on with a sentence the line above (the nearest with text,
so Word's blank-line-separated paragraphs count) left open, when it opens with
a colon read as speech (``Por ejemplo: ...``, below), and in a file whose
speech wraps (unlabelled lines under more than a third of the labels).

Not speakers: a colon inside speech (``Por ejemplo: ...``, ``A veces: ...``,
``I told her: ...``, ``Nota: ...``) — the words before it are not a plausible
name (a function word, a lower-case word, a word the file also writes in lower
case) or do not have the file's label shape; these lines are reported as kept
inside speech. A name-and-time line right under a header is that header's speech.

Lines a service writes
----------------------
Set aside: in no turn and no segment (the document text keeps them), listed in
the load report row with their line numbers. English and Spanish::

    Transcribed by https://otter.ai            Otter.ai's footer (also "Transcrito por https://otter.ai")
    Marta Rojas started transcription          Microsoft Teams (also "stopped transcription",
    Marta Rojas inició la transcripción        "detuvo / comenzó / empezó / ha iniciado / ha detenido la transcripción")
    Reunión-20260303_100212-Grabación de la reunión   the header block of a Teams transcript: the recording's
    3 de marzo de 2026, 01:02p. m.                    title ("...-Meeting Recording"), its date and length,
    45m 12s                                           up to the first blank line

Who is the interviewer
----------------------
:func:`find_interviewer`, per file: the labels the user names
(``interviewer=[...]``, ``--interviewer``); else a role word (``Entrevistadora``,
``Moderadora``, ``E``, ``Interviewer``, ``P`` beside ``R``); else, as a reported
guess, the speaker who asks clearly more often than anyone else (``Hablante 1``,
``SPEAKER_00``, a Zoom host); else nobody, reported.
"""

from __future__ import annotations

import difflib
import re
import shlex
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from ..corpus import INTERVIEWER_WORDS, ParsedTranscript, Turn, speaker_role
from ..nlp.normalize import fold_label

__all__ = [
    "CODE_LIKE",
    "DIARIZED_CODE",
    "NAME_LINE",
    "NOT_SPEAKERS",
    "ROLE_WORDS",
    "UNICODE_SPACES",
    "WORD_AND_NUMBER",
    "LabelCandidate",
    "ParsedTranscript",
    "Turn",
    "clean_label",
    "decide_speakers",
    "find_interviewer",
    "is_short_label",
    "label_candidate",
    "parse_timestamp",
    "parse_transcript",
    "speaker_role",
]

_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
# White space runs are bounded (and lines stripped before matching) so that no line, however long,
# makes the label patterns backtrack for long.
_W, _W1 = r"[ \t]{0,20}", r"[ \t]{1,20}"
# "1 minute 2 seconds" (Teams .txt export), also in Spanish and with hours.
_SPOKEN = (rf"\d{{1,3}}{_W1}(?:hours?|horas?|minutes?|minutos?|seconds?|segundos?)"
           rf"(?:{_W1}\d{{1,3}}{_W1}(?:hours?|horas?|minutes?|minutos?|seconds?|segundos?)){{0,2}}")
_TS = rf"{_CLOCK}(?:{_W}-->?{_W}{_CLOCK})?"
_TSX = rf"(?:\[{_TS}\]|\({_TS}\)|{_TS})"
_LABEL = r"[^\W\d_][\w .'/()\-]{0,47}?"
# Matched on a line without its leading white space.
_HEAD = re.compile(
    rf"""^(?:(?P<ts1>{_TSX}){_W}(?:-{_W})?)?
    (?:(?P<md>\*\*|__){_W})?
    (?P<br>\[)?(?P<label>{_LABEL})(?(br)\])
    (?:{_W}(?:\*\*|__))?
    (?:{_W}(?P<ts2>\[{_TS}\]|\({_TS}\)|(?<=[ \t]){_CLOCK}))?
    (?:{_W}(?:\*\*|__))?
    {_W}:(?!\d){_W}(?:(?:\*\*|__){_W})?
    (?:(?P<ts3>\[{_TS}\]|\({_TS}\)){_W})?""",
    re.X,
)
# A header line without a colon: "Name  0:03" or "00:01:02 Name", nothing else on the (stripped) line.
_HEADER_AFTER = re.compile(
    rf"^(?P<br>\[)?(?P<label>{_LABEL})(?(br)\]){_W1}(?:[-–|·]{_W1})?(?P<ts>{_TSX}|{_SPOKEN})$")
_HEADER_BEFORE = re.compile(
    rf"^(?P<ts>{_TSX}){_W1}(?:[-–|·]{_W})?(?P<br>\[)?(?P<label>{_LABEL})(?(br)\])$")
# MAXQDA f4/f5 time mark at the end of a paragraph: "#00:01:02-5#" (when the paragraph ends).
_F4_MARK = re.compile(r"[ \t]*#(?P<ts>\d{1,2}:\d{2}:\d{2})(?:[-.,]\d{1,3})?#[ \t]*$")
_LOWER_WORD = re.compile(r"(?<![\w'])[^\W\d_A-ZÁÉÍÓÚÑÜ][\w']*")
# A (stripped) line holding only a time mark or a cue range; fields may have one digit ("0:0:3.120").
_LOOSE = r"\d{1,2}:\d{1,2}(?::\d{1,2})?(?:[.,]\d{1,3})?"
_TIME_LINE = re.compile(rf"^[\[(]?(?P<ts>{_LOOSE}(?:{_W}-->?{_W}{_LOOSE})?)[\])]?$")
# A name alone on its (stripped) line right after a time line: "0:0:0.0 --> 0:0:3.120" / "Marta Rojas".
# Public: the subtitle reader matches a cue's first line with it.
NAME_LINE = re.compile(rf"^(?P<br>\[)?(?P<label>{_LABEL})(?(br)\]){_W}:?$")


# Unicode space characters (category Zs: no-break U+00A0, narrow no-break U+202F, figure, thin, ideographic
# ...) as plain spaces, one for one: the label grammar reads them as spaces. Public: the subtitle reader too.
UNICODE_SPACES = {code: " " for code in range(0x80, 0x3001) if chr(code).isspace() and
                  unicodedata.category(chr(code)) == "Zs"}
# Lines a transcription service writes, never a speaker (the module docstring lists them).
_SERVICE_LINE = re.compile(
    r"^(?:transcribed by|transcrito por|transcripción por|transcripcion por)[ \t]{1,20}(?:https?://)?(?:www\.)?"
    r"otter\.ai/?$"
    r"|^(?P<who>[^\W\d_][\w .'()\-]{0,60}?)[ \t]{1,20}(?:(?:started|stopped|has started|has stopped)[ \t]{1,20}"
    r"transcription|(?:inició|detuvo|comenzó|empezó|ha iniciado|ha detenido)[ \t]{1,20}la[ \t]{1,20}transcripción)$",
    re.I)
# The title Teams gives a recording's transcript: "<meeting>-20260303_100212-Meeting Recording".
_TEAMS_TITLE = re.compile(r"-\d{8}_\d{6}-(?:Meeting Recording|Grabación de la reunión)$", re.I)


def _boilerplate_lines(lines: list[tuple[int, str]]) -> frozenset[int]:
    """Indexes of lines a transcription service wrote: Otter's footer, Teams' start/stop lines, and the
    header block of a Teams transcript (its recording title, date and length, up to the first blank line)."""
    found = {i for i, (_, line) in enumerate(lines) if _SERVICE_LINE.match(line.strip())}
    first = next((i for i, (_, line) in enumerate(lines) if line.strip()), None)
    if first is not None and _TEAMS_TITLE.search(lines[first][1].strip()):
        block = []
        for i in range(first, min(first + 4, len(lines))):
            if not lines[i][1].strip():
                break
            block.append(i)
        found.update(block)
    return frozenset(found)


# A diarization pipeline's speaker code (WhisperX/pyannote "SPEAKER_00", "spk1"), folded. Public: the
# subtitle reader uses the same rule for cues without a label.
DIARIZED_CODE = re.compile(r"^(?:speaker|spk)[ _]?\d{1,3}$")
_SENTENCE_DONE = re.compile(r"[.?!…][\"'»”’)\]]*$")


def _unassigned_lines(lines: list[tuple[int, str]], candidates: dict[int, LabelCandidate], accepted: set[int],
                      boiler: frozenset[int]) -> list[int]:
    """Lines without a label in a WhisperX-style text file (every label a diarization code, each turn one line
    with its label): the pipeline assigned them to nobody. A line going on with a sentence the line above left
    open (no ``. ? !`` at its end, or opening in lower case) is that turn's still; a file where more than a
    third of the labels have such lines below them wraps its speech, and none is taken.

    "The line above" is the nearest line with text: Word paragraphs (and text files that leave a blank line
    between paragraphs) put a blank line between a turn and the paragraph that goes on with it. A line opening
    with a colon the speaker judge read as speech (``Por ejemplo: ...``, ``Yo le dije: ...``, ``Nota: ...``) is
    the previous turn's: the load report says it is kept inside speech, so it is never nobody's.
    """
    if len(accepted) < 3 or not all(DIARIZED_CODE.match(fold_label(candidates[i].label)) for i in accepted) \
            or any(not lines[i][1][candidates[i].col:].strip() for i in accepted):
        return []
    first = min(accepted)
    loose = [i for i in range(first, len(lines)) if i not in accepted and i not in boiler and lines[i][1].strip()
             and not _time_only(lines[i][1])]
    if 3 * len(loose) > len(accepted):
        return []
    out = []
    for i in loose:
        if i in candidates and candidates[i].style == "colon":
            continue
        above = next((lines[j][1].rstrip() for j in range(i - 1, first - 1, -1)
                      if lines[j][1].strip() and j not in boiler), "")
        body = lines[i][1].strip()
        if above and (not _SENTENCE_DONE.search(above) or body[:1].islower()):
            continue
        out.append(i)
    return out


def _time_only(line: str) -> bool:
    return _TIME_LINE.match(line.strip(" \t")) is not None

# First words that make a label a speaker even when it appears once (folded). Public: the pseudonymizer
# never takes a role word for a name.
ROLE_WORDS = INTERVIEWER_WORDS | {
    "directora", "director", "directoras", "educadora", "educador", "participante", "participant",
    "speaker", "hablante", "interlocutor", "interlocutora", "profesional", "docente", "tecnica",
    "tecnico", "apoyo", "asistente", "respondent", "respondente", "interviewee", "entrevistada",
    "entrevistado", "persona", "principal", "coach", "teacher", "profesora", "profesor",
    "coordinadora", "coordinador", "jefa", "jefe", "asesora", "asesor", "respuesta", "answer",
    "p", "r", "a", "sra", "sr", "sra.", "sr.", "dra", "dra.", "orador", "oradora", "voz",
}
# Words that end in a colon in speech or headers but never name a speaker (folded). Public, with CODE_LIKE
# and WORD_AND_NUMBER: the pseudonymizer's speaker-label filter uses the same lists as the readers.
NOT_SPEAKERS = {
    "nota", "notas", "note", "notes", "ejemplo", "example", "obs", "observacion", "ps", "pd",
    "ojo", "importante", "http", "https", "www", "fecha", "date", "hora", "time", "lugar",
    "place", "asunto", "tema", "duracion", "duration", "transcripcion", "transcript",
    "entonces", "bueno", "pero", "porque", "y", "o", "si", "no", "ya", "claro", "mira", "oye",
    "so", "well", "but", "and", "yes", "then", "also", "como", "que", "lo", "la", "el", "es",
    "eso", "esto", "ahora", "despues", "antes", "primero", "segundo", "luego", "finally",
    "first", "second", "o sea", "or", "because", "like", "ok", "okay", "dijo", "dije", "said",
    "pregunto", "asked", "resumen", "summary", "objetivo", "objective", "participantes",
    "participants", "asistentes", "attendees", "lugar y fecha", "recording", "grabacion",
    "honestly", "basically", "actually", "anyway", "sometimes", "obviously", "however", "remember", "imagine",
    "look", "listen", "again", "key", "problem", "problema", "idea", "clave", "verdad", "obvio", "igual",
    "total", "digamos", "sinceramente", "francamente", "realmente", "imaginate", "fijate", "oiga", "ademas",
    "tambien", "tampoco", "incluso", "resultado", "conclusion", "osea", "pues", "oh", "ah", "eh", "um",
}
# First words of speech that never start a name ("Yo le dije:", "I told her:", "Por ejemplo:").
_FUNCTION_WORDS = {
    "yo", "tu", "el", "ella", "nosotros", "nosotras", "ellos", "ellas", "usted", "ustedes", "le", "les", "me",
    "te", "se", "nos", "mi", "mis", "su", "sus", "un", "una", "unos", "unas", "los", "las", "por", "para",
    "con", "sin", "en", "de", "del", "al", "a", "cuando", "donde", "aunque", "pues", "tambien", "solo",
    "siempre", "nunca", "hay", "fue", "era", "dice", "digo", "i", "you", "he", "she", "we", "they", "it",
    "my", "our", "the", "an", "in", "on", "at", "for", "with", "when", "there", "this", "that",
    "what", "his", "her", "basically", "sometimes", "maybe", "a veces", "por ejemplo",
}
# Lower-case words allowed inside a name (María de la Luz, Vincent van Gogh).
_PARTICLES = {"de", "del", "la", "las", "los", "y", "e", "van", "von", "der", "den", "da", "di", "do", "dos",
              "du", "le", "el", "bin", "ibn", "al"}
# A folded label that is a code ("d1", "pa 4", "speaker_00") or a role word and a number ("hablante 2").
CODE_LIKE = re.compile(r"^(?:[a-z]{1,3} ?\d{1,3}|(?:speaker|spk|hablante)_?\d{1,3})$")
WORD_AND_NUMBER = re.compile(r"^[^\W\d_]+(?: [^\W\d_]+)? \d{1,3}$")


def parse_timestamp(value: str) -> float:
    """A time mark in seconds: ``'00:02:11'`` → 131.0, ``'1:02'`` → 62.0, ``'1 minute 2 seconds'`` → 62.0.

    Brackets and a range's end (``[00:00:01,500 --> 00:00:03,000]``) are ignored.

    Examples
    --------
    >>> parse_timestamp("01:02:03.5"), parse_timestamp("[00:00:01,500 --> 00:00:03,000]")
    (3723.5, 1.5)
    >>> parse_timestamp("1 minuto 2 segundos")
    62.0
    """
    value = value.strip().strip("[]()").split("-")[0].strip().replace(",", ".")
    if re.search(r"[a-z]", value, re.I):
        seconds = 0.0
        for number, unit in re.findall(r"(\d+)\s*([a-z]+)", value, re.I):
            scale = 3600 if unit.lower().startswith("h") else 60 if unit.lower().startswith("m") else 1
            seconds += int(number) * scale
        return float(seconds)
    seconds = 0.0
    for part in value.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


@dataclass(slots=True)
class LabelCandidate:
    """Something label-shaped at the start of a line, before the file's evidence decides whether it is a speaker.

    Made by :func:`label_candidate` (and by the subtitle reader for a cue's first line); judged, all of a file's
    at once, by :func:`decide_speakers`. ``shape`` (style, has a time, bold, bracketed) is what "the file's
    label shape" compares.
    """

    label: str
    ts: str | None
    col: int          # where the speech starts in the line (len(line) when it starts on the next line)
    bold: bool
    style: str        # "colon", "header" (no colon, with a time) or "bare" (a named speaker alone)
    bracketed: bool

    @property
    def shape(self) -> tuple[str, bool, bool, bool]:
        return (self.style, self.ts is not None, self.bold, self.bracketed)


def _is_upper(label: str) -> bool:
    letters = [ch for ch in label if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def clean_label(label: str) -> str:
    """A matched label without surrounding white space and Markdown emphasis (``**Marta** `` → ``Marta``).

    Examples
    --------
    >>> clean_label(" Moderadora**")
    'Moderadora'
    """
    return label.strip().rstrip("*_ ").strip()


def label_candidate(line: str, forced: frozenset[str] = frozenset()) -> LabelCandidate | None:
    """If ``line`` starts with something label-shaped, describe it; else ``None``.

    ``forced`` holds folded labels the user named: such a label alone on its line is a candidate too
    (style ``"bare"``). The label shapes are those of the module docstring.

    Examples
    --------
    >>> c = label_candidate("Entrevistadora (00:01:02): ¿Cómo parte el día?")
    >>> c.label, c.ts, c.style
    ('Entrevistadora', '(00:01:02)', 'colon')
    >>> label_candidate("Una frase cualquiera sin etiqueta") is None
    True
    """
    if forced and line.strip() and fold_label(line.strip().strip("[]*_:")) in forced:
        label = line.strip().strip("[]*_:").strip()
        return LabelCandidate(label, None, len(line), False, "bare", line.strip().startswith("["))
    body = line.lstrip(" \t")
    lead = len(line) - len(body)
    match = _HEAD.match(body)
    if match is not None:
        label = clean_label(match.group("label"))
        if label and is_short_label(label):
            return LabelCandidate(label, match.group("ts1") or match.group("ts2") or match.group("ts3"),
                                  lead + match.end(), match.group("md") is not None, "colon",
                                  match.group("br") is not None)
    full = body.rstrip(" \t")
    for pattern in (_HEADER_AFTER, _HEADER_BEFORE):
        match = pattern.match(full)
        if match is not None:
            label = clean_label(match.group("label"))
            if label and is_short_label(label):
                return LabelCandidate(label, match.group("ts"), len(line), False, "header",
                                      match.group("br") is not None)
    return None


def is_short_label(label: str) -> bool:
    """At most four words besides particles (``Ana María del Pino Soto``): longer is a sentence.

    Examples
    --------
    >>> is_short_label("Ana María del Pino Soto"), is_short_label("yo le dije a mi jefa que no")
    (True, False)
    """
    words = label.split()
    return len(words) <= 6 and sum(fold_label(w) not in _PARTICLES for w in words) <= 4


def _is_role(label: str) -> bool:
    folded = fold_label(label)
    if folded in ROLE_WORDS:
        return True
    # "Directora 3", "Hablante 1", "Entrevistadora Ana": a role word of 2+ letters, then a number or a name.
    words, original = folded.split(" "), label.split()
    return len(words[0]) > 1 and words[0] in ROLE_WORDS and len(words) <= 3 and \
        all(w[:1].isdigit() or w[:1].isupper() for w in original[1:])


def _strong(c: LabelCandidate, forced: frozenset[str]) -> bool:
    folded = fold_label(c.label)
    if folded in forced:
        return True
    if folded in NOT_SPEAKERS or folded.split(" ")[0] in {"http", "https"}:
        return False
    if _is_role(c.label) or CODE_LIKE.match(folded) or WORD_AND_NUMBER.match(folded):
        return True
    return (c.bold or _is_upper(c.label)) and _plausible_name(c.label, any_case=True)


def _plausible_name(label: str, any_case: bool = False, common: frozenset[str] = frozenset()) -> bool:
    """Capitalised words (particles allowed inside), not a word that opens speech.

    ``common`` holds folded words the file also writes in lower case: words, not names.
    """
    folded = fold_label(label)
    if common and any(fold_label(w) in common for w in label.split() if fold_label(w) not in _PARTICLES):
        return False
    words = label.split()
    if not words or not is_short_label(label) or folded in NOT_SPEAKERS or folded in _FUNCTION_WORDS:
        return False
    if fold_label(words[0]) in _FUNCTION_WORDS or fold_label(words[0]) in NOT_SPEAKERS:
        return False
    for index, word in enumerate(words):
        if any_case or word[:1].isupper() or word[:1].isdigit():
            continue
        if index > 0 and index < len(words) - 1 and fold_label(word) in _PARTICLES:
            continue
        return False
    return True


_ALONE = re.compile(rf"^{_LABEL}$")
# A person's name alone on its line in mixed case: 1-6 words of letters ("Dra. Soto", "María José Soto-Díaz",
# "O'Brien"), no digits, nothing after the last letter (a sentence ends in punctuation: "Bien.", "¿Sí?").
_NAME_ALONE = re.compile(r"^(?:[^\W\d_][^\W\d_'’\-]*\.?[ \t]{1,20}){0,5}[^\W\d_][^\W\d_'’\-]*$")
# A line ending a sentence (a label in a layout without blank lines follows one) or announcing a list.
_ENDS_SENTENCE = re.compile(r"[.?!…»\"”)\]]$")
# Lines alone in capitals that annotate a recording, never a speaker.
_ANNOTATIONS = {"risas", "risa", "laughter", "laughs", "inaudible", "silencio", "silence", "pausa", "pause",
                "crosstalk", "fin", "end", "musica", "music", "aplausos", "applause", "llanto", "corte", "cut"}
# First words of headings and titles alone on their line, never a speaker's name (folded).
_HEADINGS = {
    "introduccion", "introduction", "presentacion", "contexto", "context", "antecedentes", "background",
    "resultados", "results", "conclusiones", "conclusion", "conclusions", "cierre", "closing", "inicio",
    "apertura", "opening", "desarrollo", "discusion", "discussion", "analisis", "analysis", "observaciones",
    "comentarios", "comments", "preguntas", "questions", "agradecimientos", "acknowledgements", "anexo",
    "anexos", "appendix", "bibliografia", "referencias", "references", "indice", "capitulo", "chapter",
    "seccion", "section", "parte", "part", "temas", "topics", "glosario", "metodologia", "methods",
    "objetivos", "objetivo", "agenda", "entrevista", "interview", "sesion", "session", "grupo", "taller",
    "bloque", "modulo", "pauta", "guion", "guia", "ficha", "datos", "informe", "report", "acta", "minuta",
    "primera", "tercera", "cuarta", "quinta", "ultima", "final", "third", "last",
}


def _alone_labels(lines: list[tuple[int, str]], candidates: dict[int, LabelCandidate], next_text: list[int],
                  others: bool, given: frozenset[int] = frozenset(),
                  ) -> tuple[dict[int, LabelCandidate], list[str], bool]:
    """Labels alone on their line without a colon (``ENTREVISTADORA`` / speech below), from the file's evidence.

    A line is a possible label when it is only a role word (``Entrevistadora``, ``Hablante 2``, ``E``), a
    short line in capitals that could be a name, or a person's name in mixed case (``Marta Rojas``), and
    speech (not another such line) follows it. They are taken when a label recurs, so a heading or a shouted
    "NO" alone does not become a speaker: labels used at least twice, and role words used once beside them
    (reported). Names in mixed case need more: they recur, the file never writes them in lower case (a
    heading's topic word does), they follow a blank line or a finished sentence (not a line announcing a
    list), the labels alternate (a speaker's label does not follow itself) and someone asks a question
    below the first of them; a name used once beside them is taken when it has all that too and is not
    the title above the first label (reported). When the file's other labels have another shape
    (``Name:``), only role words are taken. Returns the accepted lines, notes and whether a label was
    taken on weaker evidence (capitals or names that are no role word, or a label used once).
    """
    possible: dict[int, LabelCandidate] = {}
    named: set[int] = set()  # possible lines that are mixed-case names (not role words, codes or capitals)
    for index, (_, line) in enumerate(lines):
        body = line.strip()
        if index in candidates or not body or _ALONE.match(body) is None:
            continue
        if body.endswith(".") and len(body.split()[-1]) > 4:  # a sentence ("Exacto."), not "Dra."
            continue
        label = clean_label(body)
        folded = fold_label(label)
        if not label or not is_short_label(label) or folded in NOT_SPEAKERS or folded in _ANNOTATIONS \
                or folded.split(" ")[0] in _FUNCTION_WORDS - ROLE_WORDS:
            continue
        if _is_role(label) or CODE_LIKE.match(folded) or (_is_upper(label) and _plausible_name(label, any_case=True)):
            possible[index] = LabelCandidate(label, None, len(line), False, "alone", False)
        elif not others and _NAME_ALONE.match(body) and _plausible_name(label) \
                and folded.split(" ")[0] not in _HEADINGS:
            possible[index] = LabelCandidate(label, None, len(line), False, "alone", False)
            named.add(index)
    raw = set(possible)
    # The alternating shape: speech follows every label (names are looked for only when no candidate was
    # taken, so a candidate below one is speech: "Marta Rojas" / "Estaban estas personas: ...").
    possible = {i: c for i, c in possible.items() if next_text[i] < len(lines) and next_text[i] not in possible
                and (next_text[i] not in candidates or i in named)}

    def after_blank(i: int) -> bool:
        return i == 0 or not lines[i - 1][1].strip()

    if named & set(possible):
        common = frozenset(fold_label(w) for _, line in lines for w in _LOWER_WORD.findall(line))
        for i in sorted(named & set(possible)):
            before = next((j for j in range(i - 1, -1, -1) if lines[j][1].strip()), None)
            opens = before is None or after_blank(i) or (
                before not in raw and _ENDS_SENTENCE.search(lines[before][1].rstrip()) is not None)
            if not opens or not _plausible_name(possible[i].label, common=common):
                del possible[i]
    counts: dict[str, int] = {}
    for c in possible.values():
        counts[fold_label(c.label)] = counts.get(fold_label(c.label), 0) + 1
    taken = {i: c for i, c in possible.items() if counts[fold_label(c.label)] >= 2
             and (not others or _is_role(c.label))}
    if taken.keys() & named:
        # Names are taken when the labels alternate like turns: two or more of them, a label rarely
        # following itself (headings of a repeated structure or a name said twice are not turns).
        order = [fold_label(taken[i].label) for i in sorted(taken)]
        changes = sum(a != b for a, b in pairwise(order))
        # And like an interview's: someone asks (a report's alternating headings, "Fortalezas" /
        # "Desafíos", ask nothing).
        asks = any("?" in line for _, line in lines[min(taken):])
        if len(set(order)) < 2 or changes < 0.75 * (len(order) - 1) or not asks:
            taken = {i: c for i, c in taken.items() if i not in named}
    if not taken:
        return {}, [], False
    # A file whose labels follow blank lines: one that does not is inside a turn (speech, a quote).
    blank_layout = sum(after_blank(i) for i in taken) >= 0.9 * len(taken)
    first = min(taken)
    text = "\n".join(line for _, line in lines) if possible.keys() - taken.keys() else ""
    # A name used once beside recurring names; or a name or capitals used once beside role words and capitals
    # only (ENTREVISTADORA, ROSA, then Inés or INÉS once), when the file shows it is a person's: the label
    # before asks, or the name is written in the file again.
    once = [i for i, c in possible.items() if i not in taken and (not blank_layout or after_blank(i))
            and (_is_role(c.label) or (i > first and (i in named or (_is_upper(c.label) and not others)) and (
                (i in named and taken.keys() & named) or _named_elsewhere(c.label, i, text, None))))]
    names_recur = bool(taken.keys() & named)  # before the names used once join them
    taken.update({i: possible[i] for i in once})
    taken = {i: c for i, c in taken.items() if not blank_layout or after_blank(i)}
    shown = ", ".join(dict.fromkeys(c.label for c in taken.values()))
    weak = any(not _is_role(c.label) for c in taken.values())
    kind = "names" if taken.keys() & named else "capitals" if weak else "role words"
    notes = [f"{len(taken)} line(s) alone with no colon read as speaker labels ({shown}): "
             f"{kind} alone on a line before speech, recurring "
             "(if one is a heading, not a speaker, end that line with a period in the file; if a speaker is "
             "missing, name it: speakers=[...] / --speakers '...', which adds to these)"]
    def what(i: int) -> str:
        if _is_role(possible[i].label):
            return "a role word"
        kind = "a name" if i in named else "a name in capitals"
        evidence = "" if i in named and names_recur else ", after a question or named elsewhere in the file,"
        return f"{kind}{evidence}"

    notes += [f"line {i + 1}: label {possible[i].label!r} is used once; taken as a speaker because it is "
              f"{what(i)} alone on its line like the file's other labels (if it is a heading or speech, name the "
              "speakers: speakers=[...] / --speakers '...')" for i in once]
    kept = [i for i, c in possible.items() if i not in taken and not _is_role(c.label)]
    kept += [i for i in sorted(named & raw) if i not in possible and i not in taken]
    kept = sorted(set(kept) - given)  # a line the user named is a speaker, not kept as text
    if kept:
        where = ", ".join(f"{i + 1} ({clean_label(lines[i][1].strip())})" for i in kept[:3])
        more = f" and {len(kept) - 3} more" if len(kept) > 3 else ""
        notes.append(f"{len(kept)} line(s) alone in capitals or name-shaped kept as text, not speakers: line "
                     f"{where}{more} (if one is a speaker, pass speakers=[...] / --speakers naming it)")
    return taken, notes, weak or bool(once)


def _named_elsewhere(label: str, index: int, text: str, line_of: dict[int, int] | None,
                     labels: frozenset[int] = frozenset(), col: int | None = None) -> bool:
    """Whether the file shows that a label used once names a person: the line before asks (a moderator's
    "¿Inés?" or "¿Y tú, Tomás?"), or is a whole turn of a label (``labels``: line indexes) that announces no
    quote (no ``:`` at its end) while the speech after this label (from ``col``) opens a sentence (not
    "Marta: le dijo que sí", a quote going on); or the name is written elsewhere in the file too."""
    if len(re.findall(rf"(?<!\w){re.escape(label)}(?!\w)", text)) >= 2:
        return True
    if line_of is not None or not text:  # indexes are cues, not lines: the line before is not known
        return False
    lines = text.split("\n")
    before = next((j for j in range(min(index, len(lines)) - 1, -1, -1) if lines[j].strip()), None)
    if before is None:
        return False
    last = lines[before].rstrip()
    if last.endswith("?"):
        return True
    speech = lines[index][col:].lstrip(" \t¿¡\"«“'(") if col is not None and index < len(lines) else ""
    return before in labels and not last.endswith(":") and speech[:1].isupper()


def decide_speakers(candidates: dict[int, LabelCandidate], forced: frozenset[str],
                    after_blank: dict[int, bool] | None = None,
                    line_of: dict[int, int] | None = None, text: str = "",
                    units: int = 0, follows_open: frozenset[int] = frozenset()) -> tuple[set[int], list[str], bool]:
    """Which candidate lines open turns, from the whole file's evidence (the rules of the module docstring).

    Parameters
    ----------
    candidates : dict of int to LabelCandidate
        Per line (or cue) index, what :func:`label_candidate` found there.
    forced : frozenset of str
        Folded labels the user named: always speakers.
    after_blank : dict of int to bool, optional
        Per candidate, whether it follows a blank line (turns separated by blank lines).
    line_of : dict of int to int, optional
        The 1-based line number to name in notes, when indexes are not lines (subtitle cues).
    text : str
        The whole text, to find the words it also writes in lower case (words, not names).
    units : int
        How many cues the file has, when every cue may open with ``Label:`` (subtitles); 0 otherwise.
    follows_open : frozenset of int
        Candidates right under a label whose speech starts on the next line: that speech, unless strong.

    Returns
    -------
    (accepted, notes, uncertain)
        The accepted indexes, notes for the load report and whether the decision was uncertain (a label
        used once was taken).

    Examples
    --------
    >>> lines = ["E: ¿Cómo parte el día?", "D1: Con el WhatsApp.", "Por ejemplo: llamo a la red."]
    >>> found = {i: c for i, line in enumerate(lines) if (c := label_candidate(line)) is not None}
    >>> decide_speakers(found, frozenset())[0]
    {0, 1}
    """
    counts: dict[str, int] = {}
    for c in candidates.values():
        counts[fold_label(c.label)] = counts.get(fold_label(c.label), 0) + 1
    strong = {i for i, c in candidates.items() if _strong(c, forced)}
    recurring = {i for i, c in candidates.items()
                 if i not in strong and counts[fold_label(c.label)] >= 2 and _plausible_name(c.label)}
    established = strong | recurring
    shapes = {candidates[i].shape for i in established}
    # Casing is evidence only from labels made of words (not codes such as E, D1 or SPEAKER_00).
    worded = [i for i in established if not CODE_LIKE.match(fold_label(candidates[i].label))
              and len(candidates[i].label) > 1]
    upper = bool(worded) and all(_is_upper(candidates[i].label) for i in worded)
    # Turns separated by blank lines: a label that does not follow a blank line is speech.
    blank_layout = after_blank is not None and len(established) >= 3 and \
        sum(after_blank.get(i, True) for i in established) >= 0.9 * len(established)
    blanks = after_blank if after_blank is not None else {}  # consulted only with a blank layout

    def fits(i: int, cased: bool = True) -> bool:
        c = candidates[i]
        if cased and upper and not _is_upper(c.label):
            return False
        if blank_layout and not blanks.get(i, True):
            return False
        return c.shape in shapes

    accepted = set(strong) | {i for i in recurring if fits(i) or not strong}
    once: list[int] = []
    # Every cue opens with "Label:" in one shape, as Zoom and diarization scripts write them: the file
    # says these are labels, whatever the names look like ("iPhone de Marta", "marta rojas").
    colon = [i for i, c in candidates.items() if c.style == "colon"]
    if units >= 3 and len(colon) >= 0.9 * units and len({candidates[i].shape for i in colon}) == 1:
        for i in colon:
            first = fold_label(candidates[i].label).split(" ")[0]
            if i in accepted or first in NOT_SPEAKERS or first in _FUNCTION_WORDS:
                continue
            accepted.add(i)
            if counts[fold_label(candidates[i].label)] == 1:
                once.append(i)
    common: frozenset[str] | None = None  # made only when a label used once needs it (large files)
    # Subtitles with "Name:" on only some cues, each name once or so (a speaker named where they start): names
    # in one shape at cue starts are labels, when the file shows two or more and the user named none.
    sparse: list[int] = []
    if units and not accepted and not forced:
        names = [i for i in colon if _plausible_name(candidates[i].label)]
        if len(names) >= 2 and len({candidates[i].shape for i in names}) == 1:
            common = frozenset(fold_label(w) for w in set(_LOWER_WORD.findall(text)))
            sparse = [i for i in names if _plausible_name(candidates[i].label, common=common)]
            if len(sparse) >= 2:
                accepted.update(sparse)
            else:
                sparse = []
    mixed: set[int] = set()  # labels used once taken although their casing differs from the file's labels
    if accepted:
        for i, c in candidates.items():
            if i in accepted or counts[fold_label(c.label)] != 1 or not _plausible_name(c.label):
                continue
            if i in follows_open:  # right under a label whose speech starts on the next line: that speech
                continue
            if common is None:
                common = frozenset(fold_label(w) for w in set(_LOWER_WORD.findall(text)))
            if not _plausible_name(c.label, common=common):
                continue
            if fits(i):
                accepted.add(i)
                once.append(i)
            elif upper and fits(i, cased=False) and _named_elsewhere(c.label, i, text, line_of,
                                                                     frozenset(established), c.col):
                # A participant who speaks once, written in mixed case among labels in capitals (ENTREVISTADORA:,
                # ROSA:, then Inés:): a name with the file's label shape, and the file shows it is a person's.
                accepted.add(i)
                once.append(i)
                mixed.add(i)
    notes: list[str] = []
    line_of = line_of or {}
    if sparse:
        shown = ", ".join(dict.fromkeys(candidates[i].label for i in sparse))
        rest = units - len(accepted)
        opening = min(accepted)
        unnamed = f"; the {opening} cue(s) before the first name are unnamed" if opening else ""
        notes.append(f"{len(sparse)} cue(s) open with a name and a colon on only some cues ({shown}): read as "
                     f"speakers because they share one shape at cue starts; {rest - opening} cue(s) without a name "
                     f"continue the previous speaker's turn{unnamed} (if a name is speech, not a speaker, edit that "
                     "cue; if a speaker changes in a cue without a name, write the name at its start)")
    for i in once:
        why = ("it is a name at a line start in the shape of the file's labels (those in capitals), after a "
               "question or another speaker's whole turn, or named elsewhere in the file" if i in mixed
               else "the file's other labels have its shape")
        notes.append(f"line {line_of.get(i, i + 1)}: label {candidates[i].label!r} is used once; taken as a "
                     f"speaker because {why} (if it is speech, edit that line)")
    # Known non-speakers (Nota:, Fecha:, Ejemplo:) are not worth a note; other colons read as speech are.
    kept = sorted(i for i, c in candidates.items() if i not in accepted and c.style == "colon"
                  and fold_label(c.label) not in NOT_SPEAKERS)
    if kept and accepted:
        shown = ", ".join(f"{line_of.get(i, i + 1)} ({candidates[i].label}:)" for i in kept[:3])
        more = f" and {len(kept) - 3} more" if len(kept) > 3 else ""
        notes.append(f"{len(kept)} line(s) with a colon kept inside speech, not read as speakers: line {shown}{more} "
                     "(if one is a speaker, pass speakers=[...] / --speakers naming it)")
    return accepted, notes, bool(once or sparse)


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
        Folded labels always accepted as speakers, in any of the label shapes of
        the module docstring and also alone on a line.

    Returns
    -------
    ParsedTranscript
        ``turns`` cover every non-blank line outside labels and time marks:
        speech after a label belongs to that speaker; lines before the first
        label form an unlabelled turn; a file without any label becomes one
        unlabelled turn per paragraph. ``notes`` say what was uncertain.

    Examples
    --------
    >>> p = parse_transcript("E: ¿Cómo parte el día?\\nD1 (00:00:09): Con el WhatsApp.\\n")
    >>> [(t.speaker, p.text[t.start:t.end], t.timestamp) for t in p.turns]
    [('E', '¿Cómo parte el día?', None), ('D1', 'Con el WhatsApp.', 9.0)]
    >>> p = parse_transcript("Marta Rojas  0:03\\nHola.\\n\\nDaniela Soto  0:14\\nBuenas.\\n\\n"
    ...                      "Marta Rojas  0:31\\n¿Y?\\n\\nDaniela Soto  0:35\\nBien.\\n")
    >>> [(t.speaker, t.timestamp) for t in p.turns][:2]
    [('Marta Rojas', 3.0), ('Daniela Soto', 14.0)]
    """
    lines: list[tuple[int, str]] = []
    offset = 0
    # Labels are matched on a copy whose Unicode spaces (Otter's "Name\u00a0\u00a00:03") are plain spaces:
    # one character for one, so every offset still points into the file's own text.
    for raw in text.translate(UNICODE_SPACES).split("\n"):
        lines.append((offset, raw))
        offset += len(raw) + 1
    boiler = _boilerplate_lines(lines)

    next_text = [len(lines)] * len(lines)  # per line, the next line that is not blank
    upcoming = len(lines)
    for index in range(len(lines) - 1, -1, -1):
        next_text[index] = upcoming
        if lines[index][1].strip():
            upcoming = index
    candidates: dict[int, LabelCandidate] = {}
    after_blank: dict[int, bool] = {}
    previous_blank = True
    previous_time = False
    for index, (_, line) in enumerate(lines):
        found = label_candidate(line, speakers) if index not in boiler else None
        if found is None and previous_time and (name := NAME_LINE.match(line.strip(" \t"))) is not None \
                and is_short_label(clean_label(name.group("label"))):
            found = LabelCandidate(clean_label(name.group("label")), None, len(line), False, "after_time",
                                   name.group("br") is not None)
        if found is not None:
            candidates[index] = found
            after_blank[index] = previous_blank
        if line.strip():
            previous_time = _time_only(line)
        if line.strip() and not _time_only(line):
            previous_blank = False
        elif not line.strip():
            previous_blank = True
    # Candidates on the line right after a label whose speech starts on the next line (Otter, Teams,
    # a label alone) are that speech unless they are labels on their own evidence.
    opens_below = [i for i, c in candidates.items() if c.col >= len(lines[i][1].rstrip())]
    follows_open = frozenset(next_text[i] for i in opens_below if next_text[i] in candidates)
    accepted, notes, uncertain = decide_speakers(candidates, speakers, after_blank, text=text,
                                                 follows_open=follows_open)
    # Labels the user names add to what the file's evidence finds: naming one speaker of a file whose names
    # stand alone on their lines must not turn the others' labels into speech. The named labels alone on
    # their line are left out of the evidence's candidates so that they count as lines alone too.
    bare = {i for i, c in candidates.items() if c.style == "bare" and i in accepted}
    alone, alone_notes, alone_uncertain = _alone_labels(
        [(start, "" if i in boiler else line) for i, (start, line) in enumerate(lines)],
        {i: c for i, c in candidates.items() if i not in bare}, next_text, bool(accepted - bare), frozenset(bare))
    alone = {i: c for i, c in alone.items() if i not in accepted}
    if speakers and alone:
        shown = ", ".join(dict.fromkeys(c.label for c in alone.values()))
        alone_notes.append(f"besides the speakers you named, {shown} read as speaker(s) from the file's evidence "
                           "(names you give add to those the file shows; if one is a heading, not a speaker, "
                           "end that line with a period in the file)")
    candidates.update(alone)
    accepted |= set(alone)
    notes += alone_notes
    uncertain = uncertain or alone_uncertain
    unassigned = _unassigned_lines(lines, candidates, accepted, boiler)
    if unassigned:
        where = ", ".join(str(i + 1) for i in unassigned[:4]) + (
            f" and {len(unassigned) - 4} more" if len(unassigned) > 4 else "")
        example = candidates[min(accepted)].label
        notes.append(f"{len(unassigned)} line(s) carry no speaker label in a file of diarization labels, one line "
                     f"per turn (line {where}): each read as a turn of no speaker (role unknown), not the previous "
                     f"speaker's; to assign one, write the label at the line's start ('{example}: ...')")
        uncertain = True
    if boiler:
        shown = "; ".join(f"line {i + 1} ({lines[i][1].strip()[:60]!r})" for i in sorted(boiler)[:4])
        more = f" and {len(boiler) - 4} more" if len(boiler) > 4 else ""
        notes.append(f"{len(boiler)} line(s) written by the transcription service, not by a speaker, set aside "
                     f"(kept in the document text, in no segment): {shown}{more}")
    if not accepted:
        parsed = _paragraph_turns(text, lines, boiler)
        parsed.turns, parsed.notes = _split_at_marks(text, parsed.turns, parsed.notes)
        parsed.notes = [*notes[-1:], *parsed.notes] if boiler else parsed.notes
        return parsed

    turns: list[Turn] = []
    current: Turn | None = None
    content_end: int | None = None
    pending_ts: float | None = None

    f4_end: float | None = None  # the previous paragraph's f4 end mark: when this turn starts

    def close() -> None:
        nonlocal current, content_end, f4_end
        if current is not None and content_end is not None:
            # The previous paragraph's end mark times this turn, whether or not this one ends with a mark too.
            if current.timestamp is None and f4_end is not None:
                current.timestamp = f4_end
            f4_end = None
            mark = _F4_MARK.search(text, max(current.start, content_end - 24), content_end) \
                if text[content_end - 1:content_end] == "#" else None
            if mark is not None and mark.end() == content_end:
                content_end = mark.start()
                if current.timestamp is None and not turns:
                    current.timestamp = 0.0
                f4_end = parse_timestamp(mark.group("ts"))
        if current is not None and content_end is not None and content_end > current.start:
            current.end = content_end
            turns.append(current)
        current = None

    for index, (line_start, line) in enumerate(lines):
        if index in accepted:
            close()
            content_end = None
            c = candidates[index]
            timestamp = parse_timestamp(c.ts) if c.ts else pending_ts
            pending_ts = None
            current = Turn(c.label, line_start + c.col, line_start + c.col, timestamp, index + 1)
            if line[c.col:].strip():
                content_end = line_start + len(line.rstrip())
            continue
        if index in unassigned:  # a diarization line without a label: a turn of nobody known
            close()
            body = line.strip()
            start = line_start + len(line) - len(line.lstrip())
            current = Turn(None, start, start, pending_ts, index + 1)
            pending_ts = None
            content_end = start + len(body)
            continue
        if index in boiler:  # a service's line (Otter's footer, Teams' "started transcription"): no speech
            close()
            content_end = None
            continue
        if _time_only(line) and (next_text[index] in accepted or content_end is None or current is None):
            pending_ts = parse_timestamp(line.strip())
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
    turns, notes = _split_at_marks(text, turns, notes)
    return ParsedTranscript(text, turns, True, notes, uncertain)


# A time mark inside speech: bracketed ("[00:12:31]", "[12:31]"), parenthesised with hours ("(00:12:31)";
# "(10:30)" may be speech) or MAXQDA's "#00:12:31-5#". A bare "10:30" is a time of day in speech.
_MID_MARK = re.compile(r"\[(?P<a>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?)\]"
                       r"|\((?P<b>\d{1,2}:\d{2}:\d{2}(?:[.,]\d{1,3})?)\)"
                       r"|#(?P<c>\d{1,2}:\d{2}:\d{2})(?:[-.,]\d{1,3})?#")


def _split_at_marks(text: str, turns: list[Turn], notes: list[str]) -> tuple[list[Turn], list[str]]:
    """Take time marks inside turns out of the speech: the turn is cut at each mark, the speech after it a
    new turn of the same speaker with the mark's time (the document text stays the file's text, so every
    turn is still ``text[start:end]``). A mark ending a turn is the next turn's time when it has none."""
    out: list[Turn] = []
    marked: list[int] = []
    carried: float | None = None
    for turn in turns:
        before, carried = carried, None
        marks = list(_MID_MARK.finditer(text, turn.start, turn.end))
        if not marks:
            if before is not None and turn.timestamp is None:
                turn.timestamp = before
            out.append(turn)
            continue
        bounds: list[tuple[int, int, float | None]] = [
            (turn.start, marks[0].start(), turn.timestamp if turn.timestamp is not None else before)]
        for k, mark in enumerate(marks):
            bounds.append((mark.end(), marks[k + 1].start() if k + 1 < len(marks) else turn.end,
                           parse_timestamp(mark.group("a") or mark.group("b") or mark.group("c"))))
        if not text[bounds[0][0]:bounds[0][1]].strip() and turn.timestamp is not None:
            bounds[1] = (bounds[1][0], bounds[1][1], turn.timestamp)  # a mark opening a timed turn: the turn's time
        opened = False
        for start, end, seconds in bounds:
            piece = text[start:end]
            if not piece.strip():
                carried = seconds if (start, end) == (bounds[-1][0], bounds[-1][1]) else carried
                continue
            begin = start + len(piece) - len(piece.lstrip())
            line = turn.line + text.count("\n", turn.start, begin)
            out.append(Turn(turn.speaker, begin, start + len(piece.rstrip()), seconds, line, turn.field,
                            continues=opened or turn.continues))
            opened = True
        marked += [turn.line + text.count("\n", turn.start, m.start()) for m in marks]
    if marked:
        where = ", ".join(str(n) for n in marked[:3]) + (f" and {len(marked) - 3} more" if len(marked) > 3 else "")
        notes = [*notes, f"{len(marked)} time mark(s) inside speech taken out of the text (line {where}): the "
                         "speech after each is a new segment of the same speaker with the mark's time"]
    return out, notes


def _paragraph_turns(text: str, lines: list[tuple[int, str]], boiler: frozenset[int] = frozenset()) -> ParsedTranscript:
    turns: list[Turn] = []
    current: Turn | None = None
    for index, (line_start, line) in enumerate(lines):
        if not line.strip() or index in boiler:
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
    return ParsedTranscript(text, turns, False, [], True)


def _quoted(labels: Iterable[str]) -> str:
    """``interviewer=['A'] (command line: --interviewer 'A')``: a remedy in both words (see cli.in_cli_words)."""
    labels = list(labels)
    cli = " ".join(f"--interviewer {shlex.quote(label)}" for label in labels)
    return f"interviewer={labels!r} (command line: {cli})"


def _nearest(given: list[str], folded_labels: list[str]) -> str | None:
    """The file's label nearest in spelling to one the user gave (spaces, case and accents aside), if close."""
    compact = {k.replace(" ", "").replace("_", ""): k for k in folded_labels}
    for label in given:
        key = fold_label(label).replace(" ", "").replace("_", "")
        if key in compact:
            return compact[key]
        # A different number is a different speaker ("Hablante 3" is no misspelt "Hablante 2").
        same = [k for k in compact if re.findall(r"\d+", k) == re.findall(r"\d+", key)]
        close = difflib.get_close_matches(key, same, n=1, cutoff=0.8)
        if close:
            return compact[close[0]]
    return None


def find_interviewer(parsed: ParsedTranscript, given: Iterable[str] = ()) -> tuple[frozenset[str], str, bool]:
    """Who asks in this file, and why: named by the user, a role word, or a guess from the questions.

    Parameters
    ----------
    parsed : ParsedTranscript
    given : iterable of str
        Labels the user named as the interviewer (``interviewer=[...]``, ``--interviewer``), as written
        (the report quotes them).

    Returns
    -------
    (labels, reason, uncertain)
        The folded labels to treat as interviewer in this file (empty when a
        role word already says it, or when nobody is), a sentence for the load
        report, and whether the report row should warn: the interviewer was a
        guess, or what the user named does not fit the file (a named speaker
        who asks no question; no named label among the file's speakers, when
        the file's own evidence decides instead and the row lists the speakers).

    Examples
    --------
    >>> p = parse_transcript("Hablante 1: ¿Cómo fue?\\nHablante 2: Bien.\\nHablante 1: ¿Y ahora?\\nHablante 2: Mejor.")
    >>> find_interviewer(p)[0]
    frozenset({'hablante 1'})
    >>> find_interviewer(p, ["Hablante 3"])[1].split(";")[0]
    "'Hablante 3' was given as interviewer but is not a speaker of this file (speakers found: Hablante 1, Hablante 2)"
    """
    given = list(dict.fromkeys(given))
    given_folded = frozenset(fold_label(g) for g in given)
    order: list[str] = []
    display: dict[str, str] = {}
    asked: dict[str, int] = {}
    spoke: dict[str, int] = {}
    asks = False  # whether the current turn (with the parts a time mark cut off) asked already
    for turn in parsed.turns:
        if not turn.speaker:
            continue
        key = fold_label(turn.speaker)
        if key not in display:
            order.append(key)
            display[key] = turn.speaker
        if not turn.continues:
            spoke[key] = spoke.get(key, 0) + 1
            asks = False
        if not asks and "?" in parsed.text[turn.start:turn.end]:
            asked[key] = asked.get(key, 0) + 1
            asks = True
        asked.setdefault(key, 0)
    if not order:
        if given:  # a file without speaker labels: nobody to take, and the user expected someone
            return frozenset(), (f"{', '.join(map(repr, given))} was given as interviewer but the file has no "
                                 "speaker labels, so nobody is taken as interviewer"), True
        return frozenset(), "", False
    remedy = ("if another speaker asks, name it with interviewer=['<label>'] "
              "(command line: --interviewer '<label>')")
    labels = frozenset(order)
    roles = [k for k in order if speaker_role(display[k], labels_in_doc=labels) == "interviewer"]
    # The speaker to suggest when the user's label does not fit: whoever asks most, else the first to speak.
    named = [k for k in order if k in given_folded]
    others = [k for k in order if k not in named]
    asker = max(others, key=lambda k: (asked[k] / spoke[k] if spoke.get(k) else 0.0, -order.index(k)),
                default=None)
    if named:
        why = f"interviewer {', '.join(display[k] for k in named)} (named by you)"
        extra = [k for k in roles if k not in named]
        if extra:  # a role word stays the interviewer: both are, and the row says so
            why += f"; {', '.join(display[k] for k in extra)} also taken as interviewer (role word)"
        silent = [k for k in named if asked[k] == 0]
        if not silent:
            return frozenset(named), why, False
        who = ", ".join(display[k] for k in silent)
        turns = sum(spoke.get(k, 0) for k in silent)
        told = (f"{who} asks no question in this file (no '?' in {turns} turn{'s' * (turns != 1)}): every turn "
                f"of {who} counts as the interviewer's")
        if extra and len(silent) == len(named):
            told += (f"; {', '.join(display[k] for k in extra)} is the interviewer by role word without it: if so, "
                     f"leave out {_quoted([given[0]] if len(given) == 1 else given)}")
        elif asker is not None and asked[asker]:
            told += (f"; {display[asker]} asks ({asked[asker]} of {spoke[asker]} turns): if the interviewer is "
                     f"{display[asker]}, name it: {_quoted([display[asker]])}")
        else:
            told += f"; if another speaker asks, name it: {_quoted(['<label>'])}"
        return frozenset(named), f"{why}; {told}", True
    missed = ""
    if given:
        # A misspelt name must not silently leave the file to the guess (or to nobody): say so, list the speakers.
        shown = ", ".join(display[k] for k in order)
        # The nearest spelling first ("Hablante1" → "Hablante 1"), else whoever asks most.
        near = _nearest(given, order)
        missed = (f"{', '.join(map(repr, given))} was given as interviewer but is not a speaker of this file "
                  f"(speakers found: {shown}); check the spelling and name one of them"
                  f"{', the nearest spelling' if near else ''}: "
                  f"{_quoted([display[near or asker or order[0]]])}; read without it: ")
    if roles:
        return frozenset(), f"{missed}interviewer {', '.join(display[k] for k in roles)} (role word)", bool(missed)
    if len(order) < 2:
        return frozenset(), (f"{missed}one speaker ({display[order[0]]}), taken as a participant"
                             + ("" if missed else f"; {remedy}")), bool(missed)
    ratio = {k: asked[k] / spoke[k] for k in order}
    # Weighed by evidence: a speaker with one or two turns ("¿Me escuchan?" once) asks in 100% of them but
    # says little; one turn more in the denominator keeps them from outranking a host who asks 5 of 5, and
    # they do not block the guess when the one who asks most asks more than twice as many questions.
    best = max(order, key=lambda k: (asked[k] / (spoke[k] + 1), -order.index(k)))
    few = [k for k in order if k != best and asked[k] and spoke[k] <= 2 and 2 * asked[k] < asked[best]]
    rest = max((ratio[k] for k in order if k != best and k not in few), default=0.0)
    # The one who asks: at least two questions, in at least a third of their turns, and clearly more
    # often than anyone else (a participant's "¿me entiendes?" does not make them the interviewer).
    if asked[best] >= 2 and ratio[best] >= 1 / 3 and ratio[best] >= 1.5 * rest:
        few = [k for k in few if 1.5 * ratio[k] > ratio[best]]  # those who would have blocked it: named
        why = (f"{display[best]} taken as interviewer by guess: {asked[best]} of {spoke[best]} turns ask a "
               f"question, at most {rest:.0%} of any other speaker's")
        if few:
            why += (f" ({', '.join(display[k] for k in few)} asks too, in {sum(spoke[k] for k in few)} turn(s) "
                    "only: too few to weigh as much)")
        if order[0] == best:
            why += "; first to speak"
        return frozenset({best}), f"{missed}{why}" + ("" if missed else f"; {remedy}"), True
    nobody = (f"no interviewer found among {len(order)} speakers (no role word, nobody asks most questions): "
              "every turn counts as a participant's")
    return frozenset(), f"{missed}{nobody}" + ("" if missed else f"; {remedy}"), True
