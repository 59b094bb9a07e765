"""Subtitle transcripts (``.vtt`` WebVTT and ``.srt`` SubRip) through webvtt-py.

Before parsing, every cue's timing line is checked here so that a malformed
file fails with its line number (webvtt-py reports none). Speaker names come
from WebVTT voice tags (``<v Moderadora>``) or from a label at the start of a
cue (``Entrevistadora: ...``, Zoom's ``Display Name: ...``, WhisperX's
``[SPEAKER_00]: ...``) or from a display name alone on the cue's first line with the
speech below (Teams/Zoom exports; taken when such name lines, some recurring, open
at least three quarters of the cues), decided for the whole file as in :mod:`qualcode.io.text`
(a name used once is taken when the other cues carry labels of its shape, and
reported; names written on only some cues, each once, are taken when two or more
share one shape at cue starts, and reported). Consecutive cues of one speaker form one turn.

A cue without a label: when labels (or voice tags) open three quarters of the cues or more, or the
labels are diarization codes (``SPEAKER_00``), the file comes from
software that labels every cue it can (Zoom, WhisperX/pyannote ``[SPEAKER_00]:``, where a missing
label means diarization assigned nobody), so the cue is a turn of its own with no speaker (role
unknown), counted and reported with the fix (write the label at the cue's start). When names open
fewer cues (a person wrote a name where each speaker starts), the cue continues the previous
speaker, and the report says so; cues before the first name are unnamed. A cue going on with a
sentence the previous cue left open (no ``. ? !`` at its end), opening in lower case, or opening with a
colon read as speech (``Por ejemplo: ...``, ``Yo le dije: ...``) continues that speaker in both; so
do cues without a name under Teams' name lines (Teams splits a long turn into cues).
A file with no speaker anywhere (transcription without diarization, auto-captions) gets a turn per cue,
each with its cue's start as timestamp; a cue continuing a sentence the previous cue left open (no ``. ? !``
at its end, or ``...``), with no pause of 2 s or more, joins it. A file whose cues end no sentences (no
punctuation) gets exactly one turn per cue.

The document text is rendered as ``Speaker: speech`` blocks separated by blank
lines; segment offsets point into that rendering, which is also what the
REFI-QDA export writes as the plain-text source.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import SubtitleFormatError
from ..nlp.normalize import fold_label
from .text import (
    DIARIZED_CODE,
    NAME_LINE,
    LabelCandidate,
    ParsedTranscript,
    Turn,
    clean_label,
    decide_speakers,
    is_short_label,
    label_candidate,
    parse_timestamp,
)

__all__ = ["parse_subtitles"]

_VTT_TIME = re.compile(r"^(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}$")
_SRT_TIME = re.compile(r"^\d{1,2}:[0-5]\d:[0-5]\d[,.]\d{1,3}$")


@dataclass
class _Cue:
    line: int
    start: float
    end: float
    has_text: bool


def _check_cues(text: str, path: Path, kind: str) -> tuple[list[_Cue], list[str]]:
    lines = text.split("\n")
    notes: list[str] = []
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if kind == "vtt" and (first is None or not lines[first].lstrip().startswith("WEBVTT")):
        raise SubtitleFormatError(
            f"{path}:{(first or 0) + 1}: missing the 'WEBVTT' header line that every WebVTT file starts "
            "with. Add a first line 'WEBVTT' followed by a blank line, or rename the file to .srt if it is SubRip.",
            path=path, line=(first or 0) + 1,
        )
    pattern = _VTT_TIME if kind == "vtt" else _SRT_TIME
    example = "00:01:02.500 --> 00:01:05.000" if kind == "vtt" else "00:01:02,500 --> 00:01:05,000"
    cues: list[_Cue] = []
    for index, line in enumerate(lines):
        if "-->" not in line:
            continue
        number = index + 1
        left, _, right = line.partition("-->")
        start_s = left.strip()
        end_s = right.strip().split()[0] if right.strip() else ""
        for value in (start_s, end_s):
            if not pattern.match(value):
                raise SubtitleFormatError(
                    f"{path}:{number}: bad timestamp {value!r} in the cue timing line {line.strip()!r}. "
                    f"Timings look like '{example}'; fix the line in a text editor.",
                    path=path, line=number,
                )
        start, end = parse_timestamp(start_s), parse_timestamp(end_s)
        if end < start:
            raise SubtitleFormatError(
                f"{path}:{number}: the cue ends ({end_s}) before it starts ({start_s}). "
                "Fix the timing line in a text editor.",
                path=path, line=number,
            )
        if cues and start < cues[-1].start:
            raise SubtitleFormatError(
                f"{path}:{number}: this cue starts at {start_s}, before the previous cue "
                f"(line {cues[-1].line}) — the cues are out of order. Fix the timings so they increase.",
                path=path, line=number,
            )
        if cues and start < cues[-1].end:
            notes.append(
                f"line {number}: cue overlaps the previous one (line {cues[-1].line}); kept in file order"
            )
        # A cue whose lines are only markup ("<v Ana></v>", "<i></i>") has no words: webvtt-py gives it no
        # text, so it is an empty cue as much as one without lines.
        body = []
        for following in lines[index + 1:]:
            if not following.strip() or "-->" in following:
                break
            body.append(_without_tags(following))
        has_text = bool("".join(body).strip())
        if not has_text:
            notes.append(f"line {number}: empty cue skipped")
        cues.append(_Cue(number, start, end, has_text))
    if not cues:
        start = (first or 0) + (1 if kind == "vtt" else 0)
        where = next((i + 1 for i in range(start, len(lines)) if lines[i].strip()), (first or 0) + 1)
        raise SubtitleFormatError(
            f"{path}:{where}: text without any cue timing line ('{example}') — no cues were found. "
            f"Check that this is a {'WebVTT' if kind == 'vtt' else 'SubRip'} file.",
            path=path, line=where,
        )
    return cues, notes


def _without_tags(line: str) -> str:
    """``line`` without cue tags, as webvtt-py reads it (``<.*?>`` removed), in linear time."""
    out, pos = [], 0
    while (start := line.find("<", pos)) != -1 and (end := line.find(">", start)) != -1:
        out.append(line[pos:start])
        pos = end + 1
    out.append(line[pos:])
    return "".join(out)


def parse_subtitles(text: str, *, path: str | Path, kind: str,
                    speakers: frozenset[str] = frozenset()) -> ParsedTranscript:
    """Parse normalised WebVTT (``kind="vtt"``) or SubRip (``kind="srt"``) text into turns.

    Raises
    ------
    SubtitleFormatError
        With the line number, for a missing header, a malformed, reversed or
        out-of-order timing, or content webvtt-py cannot parse.
    """
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    path = Path(path)
    cues, notes = _check_cues(text, path, kind)
    try:
        if kind == "vtt":
            captions = webvtt.from_buffer(io.StringIO(text), strict=True).captions
        else:
            captions = webvtt.from_buffer(io.StringIO(text), format="srt").captions
    except (MalformedFileError, MalformedCaptionError) as exc:
        raise SubtitleFormatError(
            f"{path}: the subtitle file is malformed ({exc}). Check the cue blocks are separated by blank lines.",
            path=path,
        ) from None
    with_text = [cue for cue in cues if cue.has_text]
    captions = [c for c in captions if c.text.strip()]
    if len(captions) != len(with_text):
        raise SubtitleFormatError(
            f"{path}: {len(with_text)} cues have text but only {len(captions)} could be parsed; a cue block "
            "is probably malformed (for example a timing line without a blank line before it).",
            path=path,
        )

    # Decide which leading "Label:" prefixes are speakers from the whole file, with the same rules as
    # text files (Zoom and WhisperX put a label on every cue, so a name used once has the file's shape).
    heads = {}
    # Teams/Zoom exports that put the display name alone on a cue's first line, the speech below: a
    # name-shaped first line on (nearly) every cue is a label line, decided like a name under a time line
    # in a text file (the cue's timing line is that time line): recurring names, and names used once
    # when they have the file's shape.
    alone: dict[int, LabelCandidate] = {}
    for i, c in enumerate(captions):
        first, _, rest = c.text.strip().partition("\n")
        # A first line ending a sentence ("Exacto.") is speech; an abbreviation ("Dra.") may end a name.
        sentence = first.rstrip().endswith(":") or (first.rstrip().endswith(".") and len(first.split()[-1]) > 4)
        name = NAME_LINE.match(first.strip()) if rest.strip() and not sentence else None
        if name is not None and is_short_label(clean_label(name.group("label"))):
            alone[i] = LabelCandidate(clean_label(name.group("label")), None, len(first.strip()) + 1, False,
                                      "after_time", name.group("br") is not None)
    recurs = len({fold_label(c.label) for c in alone.values()}) < len(alone)
    if not (recurs and len(alone) >= 0.75 * len(captions)):
        alone = {}
    for i, c in enumerate(captions):
        first, _, rest = c.text.strip().partition("\n")
        if speakers and rest.strip() and fold_label(first.strip().strip("[]:")) in speakers:
            # A name the user gave, alone on the cue's first line: the speech is the rest of the cue.
            heads[i] = LabelCandidate(first.strip().strip("[]:").strip(), None, len(first.strip()) + 1, False,
                                      "bare", False)
        elif i in alone:
            heads[i] = alone[i]
        elif (head := label_candidate(" ".join(c.text.split("\n")), speakers)) is not None and head.style == "colon":
            heads[i] = head
    cue_lines = {i: cue.line for i, cue in enumerate(with_text)}
    accepted, label_notes, uncertain = decide_speakers(heads, speakers, line_of=cue_lines,
                                                       text="\n".join(c.text for c in captions), units=len(captions))
    notes += label_notes

    pieces: list[tuple[str | None, float, int, str]] = []  # speaker, start, line, text
    speaker: str | None = None
    unlabelled = not accepted and not any(c.voice for c in captions)
    # Labels on most cues (Zoom, WhisperX, voice tags) come from software that labels every cue it can: a cue
    # without one is a turn nobody was assigned to, not the previous speaker's. Names on only some cues are a
    # person's writing where a speaker starts: the cues after a name stay that speaker's.
    # Name lines alone above the speech (Teams) are left out: Teams splits a long turn into cues without names.
    labelled_cues = sum(1 for i, c in enumerate(captions)
                        if (i in accepted and heads[i].style != "after_time") or c.voice)
    codes = bool(accepted) and all(DIARIZED_CODE.match(fold_label(heads[i].label)) for i in accepted)
    every_cue = not unlabelled and (labelled_cues >= 0.75 * len(captions) or codes)
    unassigned: list[int] = []
    # Sentence ends are evidence only in a file that writes them (auto-captions often have no punctuation).
    punctuated = sum(_ends_sentence(c.text) for c in captions) >= 0.2 * len(captions)
    for index, (caption, cue) in enumerate(zip(captions, with_text, strict=True)):
        body = " ".join(part.strip() for part in caption.text.split("\n") if part.strip())
        if unlabelled:  # no speaker anywhere: a turn per sentence, not one for the whole file
            if pieces and not _starts_turn(pieces[-1][3], with_text[index - 1], cue, punctuated):
                prev = pieces[-1]
                pieces[-1] = (None, prev[1], prev[2], f"{prev[3]} {body}".strip())
            else:
                pieces.append((None, cue.start, cue.line, body))
            continue
        new_speaker = caption.voice.strip() if caption.voice else None
        if index in accepted:
            head = heads[index]
            if not new_speaker:
                body = " ".join(part.strip() for part in caption.text.strip()[head.col:].split("\n") if part.strip()) \
                    if head.style in ("bare", "after_time") else body[head.col:].strip()
            new_speaker = new_speaker or head.label
        # A cue going on with a sentence the previous cue left open is that speaker's still, and so is one
        # opening with a colon read as speech (Por ejemplo: ..., Yo le dije: ...): the report keeps it in speech.
        aside = index in heads and heads[index].style == "colon"
        if new_speaker is None and every_cue and not aside and (not pieces or _ends_sentence(pieces[-1][3])) \
                and not body[:1].islower():
            unassigned.append(cue.line)
            speaker = None
            pieces.append((None, cue.start, cue.line, body))  # a turn of its own: each may be someone else
            continue
        if new_speaker is not None:
            speaker = new_speaker
        if pieces and pieces[-1][0] == speaker:
            prev = pieces[-1]
            pieces[-1] = (prev[0], prev[1], prev[2], f"{prev[3]} {body}".strip())
        else:
            pieces.append((speaker, cue.start, cue.line, body))

    parts: list[str] = []
    turns: list[Turn] = []
    offset = 0
    for who, start, line, body in pieces:
        if not body:
            continue
        prefix = f"{who}: " if who else ""
        block = prefix + body
        turns.append(Turn(who, offset + len(prefix), offset + len(block), start, line))
        parts.append(block)
        offset += len(block) + 2
    if unassigned:
        where = ", ".join(str(n) for n in unassigned[:4]) + (f" and {len(unassigned) - 4} more"
                                                            if len(unassigned) > 4 else "")
        example = next((heads[i].label for i in sorted(accepted)), "Name")
        notes.append(f"{len(unassigned)} cue(s) carry no speaker label in a file whose cues carry labels (line "
                     f"{where}): each read as a turn of no speaker (role unknown), not the previous speaker's; "
                     f"to assign one, write the label at the cue's start ('{example}: ...')")
        uncertain = True
    labelled = any(t.speaker for t in turns)
    n_lines = sum(1 for c in captions for part in c.text.split("\n") if part.strip())
    joined = "consecutive cues joined"
    if unlabelled:
        joined = (f"one per cue; a sentence going on in the next cue, with no pause of {_PAUSE:g} s or more, "
                  "stays one turn" if punctuated else "one per cue: the cues end no sentences")
        notes.append("the cues carry no speaker names (no 'Name: ' at a cue's start, no <v Name> tag): each turn "
                     "has its first cue's start as timestamp. To get speakers, write 'Name: ' at the start of the "
                     "cue where each speaker starts (the cues after it stay that speaker's) and load it again naming "
                     "them: speakers=['Name', ...] (command line: --speakers 'Name'); or transcribe with speaker "
                     "diarization (WhisperX --diarize)")
    return ParsedTranscript("\n\n".join(parts), turns, labelled, notes, uncertain or not labelled,
                            counted=f"{n_lines} text line{'s' * (n_lines != 1)} of {len(captions)} "
                                    f"cue{'s' * (len(captions) != 1)}", joined=joined)


# A pause this long (seconds) between cues starts a new turn even inside a sentence: a speaker may change.
_PAUSE = 2.0
# A cue ending ". ? ! …" (closing quotes or brackets after it allowed) ends a sentence; "..." at the end
# is the subtitlers' mark that the sentence goes on in the next cue.
_SENTENCE_END = re.compile(r"(?<!\.\.)[.?!。][\"'»”’)\]]*$")


def _ends_sentence(text: str) -> bool:
    return _SENTENCE_END.search(text.rstrip()) is not None


def _starts_turn(previous: str, before: _Cue, cue: _Cue, punctuated: bool) -> bool:
    """In a file without speaker names, whether ``cue`` opens a turn after the text ``previous``.

    Every cue does, unless it continues a sentence the previous cue left open (in a file that ends its
    sentences with punctuation) without a long pause between them: a cue is one sentence or part of one,
    and a coding unit should not stop mid-sentence, while a paragraph of many cues could hide a change of
    speaker (unlabelled subtitles often come from transcription without diarization, whose cues follow
    each other with no pause even between speakers).
    """
    return not punctuated or _ends_sentence(previous) or cue.start - before.end >= _PAUSE
