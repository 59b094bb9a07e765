"""Files to tables: ``load_corpus`` reads transcripts of every supported format.

Each reader turns one file into a :class:`~qualcode.corpus.ParsedTranscript`
(canonical text + speaker turns); ``load_corpus`` dispatches by suffix,
merges the attributes sheet, segments, and reports every file's outcome in a
:class:`LoadReport`. A bad file never stops the others.
"""

from __future__ import annotations

import errno
import glob
import hashlib
import itertools
import logging
import os
import re
import unicodedata
import warnings as pywarnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ..corpus import Corpus, ReadDocument
from ..errors import (
    DuplicateDocumentError,
    InputFileError,
    NoSpeakerLabelsWarning,
    ParameterError,
    QualcodeError,
    UnsupportedFormatError,
)
from ..nlp.language import detect_language
from ..nlp.normalize import fold, fold_label
from ..parallel import batches, using
from ..schemas import check_lang, check_unit, columns
from .docx import read_docx
from .encoding import read_decoded
from .paths import nearest_name
from .subtitles import parse_subtitles
from .tables import (
    SurveyColumns,
    is_survey_table,
    read_attributes,
    read_survey,
    read_table,
    survey_columns_guess,
    table_hint,
)
from .text import ParsedTranscript, find_interviewer, parse_transcript

__all__ = ["REMEMBERED", "SUFFIXES", "LoadReport", "SurveyColumns", "load_corpus", "read_attributes"]

log = logging.getLogger("qualcode.io")

SUFFIXES = {
    ".txt": "txt", ".md": "md", ".docx": "docx", ".vtt": "vtt", ".srt": "srt",
    ".csv": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
}
PathsLike = str | Path | Iterable[str | Path]
_REPORT_COLUMNS = columns("load_report")


class LoadReport(pd.DataFrame):
    """What happened to every input of a load: a DataFrame, one row per file or problem.

    Columns: ``path``, ``doc_id`` (``<NA>`` when none was made), ``status``
    (``ok``, ``warning`` or ``error``), ``error`` (the exception class name),
    ``message`` (the file named once, then what happened and what to do: for a transcript, how many turns
    and speakers were read, who was taken as interviewer and why, and anything
    uncertain — no labels, a label used once, a guessed interviewer — with the
    option that fixes it), ``line`` (the first line of the file the message is about, when it names one) and
    ``n_segments``. A transcript whose structure was guessed is a ``warning``.

    Examples
    --------
    >>> corpus, report = load_corpus("data_samples/transcripts")  # doctest: +SKIP
    >>> report.errors  # doctest: +SKIP
    """

    @property
    def _constructor(self) -> type[LoadReport]:
        return LoadReport

    @property
    def errors(self) -> pd.DataFrame:
        """The rows whose status is ``error``."""
        return pd.DataFrame(self[self["status"] == "error"])

    @property
    def warnings(self) -> pd.DataFrame:
        """The rows whose status is ``warning``."""
        return pd.DataFrame(self[self["status"] == "warning"])

    @property
    def n_errors(self) -> int:
        """How many inputs failed."""
        return int((self["status"] == "error").sum())

    def raise_first_error(self) -> None:
        """Raise :class:`~qualcode.errors.InputFileError` for the first failed input, if any."""
        if self.n_errors:
            row = self.errors.iloc[0]
            raise InputFileError(str(row["message"]), path=row["path"])


def _expand(paths: PathsLike, skip: set[Path]) -> tuple[list[Path], list[dict]]:
    """Turn a path, folder, glob or list of them into files; unsupported files are reported."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not items:
        raise ParameterError("load_corpus needs at least one path, folder or glob pattern.")
    files: list[Path] = []
    rows: list[dict] = []
    for item in items:
        text = str(item)
        explicit = False
        try:
            if any(ch in text for ch in "*?[") and not Path(text).exists():
                matches = sorted(glob.glob(text, recursive=True))
                if not matches:
                    raise InputFileError(f"no files match {text!r}. Check the pattern and the current folder.")
                candidates = []
                for match in matches:
                    try:
                        if Path(match).is_file():
                            candidates.append(Path(match))
                    except OSError as exc:
                        rows.append(_row(match, None, "error", "InputFileError", _unreadable(Path(match), exc)))
            elif Path(text).is_dir():
                candidates, unreadable = _walk(Path(text))
                rows += unreadable
            elif not Path(text).exists():
                # A mistyped folder or file name: say so, rather than what suffixes qualcode reads.
                near = nearest_name(text)
                rows.append(_row(text, None, "error", "InputFileError",
                                 f"{text}: no such file or folder (in {Path.cwd()}). Check the name"
                                 + (f"; did you mean {near}?" if near else ".")))
                continue
            else:
                candidates, explicit = [Path(text)], True
        except OSError as exc:  # a path the system will not even look at (longer than it allows): one failed input
            rows.append(_row(text, None, "error", "InputFileError", _unreadable(Path(text), exc)))
            continue
        for path in candidates:
            if not explicit and (path.name.startswith((".", "~$")) or path.resolve() in skip):
                continue
            if not explicit and path.suffix.lower() in CONVERTIBLE:
                # A transcript in a format qualcode does not read (an old Word .doc, an .odt, a PDF) is a
                # failed input of the batch, with how to convert it: its interview is missing otherwise.
                rows.append(_row(path, None, "error", "UnsupportedFormatError",
                                 f"{path}: not read: {CONVERTIBLE[path.suffix.lower()]}"))
                continue
            if not explicit and path.suffix.lower() not in SUFFIXES:
                # Other files met while walking a folder (audio, images, notes) are listed, not read.
                rows.append(_row(path, None, "warning", "UnsupportedFormatError",
                                 f"{path}: skipped: qualcode reads {', '.join(sorted(SUFFIXES))} files."))
                continue
            files.append(path)
    return files, rows


# Document formats a transcript often arrives in that qualcode does not read, and how to convert each.
CONVERTIBLE = {
    ".doc": "an old binary Word file; open it in Word or LibreOffice and use Save As > .docx.",
    ".odt": "an OpenDocument text (LibreOffice); open it in LibreOffice and use Save As > Word (.docx).",
    ".rtf": "a Rich Text file; open it in Word or LibreOffice and use Save As > .docx.",
    ".pdf": ("a PDF (its text order and speaker labels are not reliable to read); export the transcript again "
             "as .docx or .txt from the program that made it."),
    ".pages": "an Apple Pages file; in Pages use File > Export To > Word (.docx).",
    ".ods": "an OpenDocument spreadsheet (LibreOffice); use Save As > Excel (.xlsx).",
    ".xls": "an old binary Excel file; open it in Excel or LibreOffice and use Save As > .xlsx.",
}


def _walk(folder: Path) -> tuple[list[Path], list[dict]]:
    """The files under ``folder`` (sorted; linked folders not followed), and an error row per part that cannot be read.

    A sub-folder whose path is longer than the system allows, or that this user may not open, is one failed
    input in the report: the walk goes on with the rest of the batch.
    """
    files: list[Path] = []
    rows: list[dict] = []

    def failed(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else folder
        rows.append(_row(where, None, "error", "InputFileError", _unreadable(where, exc)))

    root = folder.resolve()
    stack = [str(folder)]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as found:
                entries = list(found)
        except OSError as exc:
            failed(exc)
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_symlink():
                    _linked(Path(entry.path), root, files, rows)
                elif entry.is_file(follow_symlinks=False):  # the type scandir saw: no second stat
                    files.append(Path(entry.path))
                else:  # a pipe, a device, a socket: reading one could block or never end
                    rows.append(_row(entry.path, None, "warning", "UnsupportedFormatError",
                                     f"{entry.path}: skipped: not a regular file (a pipe, device or socket)."))
            except OSError as exc:
                failed(exc)
    return sorted(files), rows


def _linked(path: Path, root: Path, files: list[Path], rows: list[dict]) -> None:
    """A symbolic link met while walking a folder: read only if it leads to a regular file inside that folder.

    A folder received from elsewhere (an unpacked zip keeps its links) may carry links to private files of the
    machine that loads it (``~/.ssh/…``, ``/etc/passwd``); they would become documents and reach shared
    exports. A link given by name on the command line is the user's choice and is read.
    """
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # dangling, or a loop of links
        rows.append(_row(path, None, "warning", "InputFileError", f"{path}: skipped: a link that leads nowhere."))
        return
    if not target.is_relative_to(root):
        rows.append(_row(path, None, "error", "InputFileError",
                         f"{path}: not read: a link to {target}, outside the folder being loaded (a folder from "
                         "elsewhere may carry links to private files). Copy the file into the folder if it belongs "
                         "to the study, or give it by name."))
    elif target.is_dir():
        rows.append(_row(path, None, "warning", "InputFileError",
                         f"{path}: skipped: a link to a folder (links to folders are not followed; give the folder "
                         "by name to load it)."))
    elif target.is_file():
        files.append(path)
    else:
        rows.append(_row(path, None, "warning", "UnsupportedFormatError",
                         f"{path}: skipped: a link to something that is not a regular file (a pipe or device)."))


# Longer paths are shown cut in the middle: the report row says where, not all 4,000 characters of it.
_SHOWN_PATH = 160


def _unreadable(path: Path, exc: OSError) -> str:
    """A report row's message for a file or folder the system would not open."""
    shown = str(path) if len(str(path)) <= _SHOWN_PATH else f"{str(path)[:80]}…{str(path)[-79:]}"
    if exc.errno == errno.ENAMETOOLONG:
        why = ("not read: its path is longer than the system allows. Move the files to a folder with a shorter "
               "path (or give that folder directly).")
    elif exc.errno in (errno.EACCES, errno.EPERM):
        why = "not read: this user may not open it. Ask its owner for read access, or copy the files elsewhere."
    else:
        why = f"not read: {exc.strerror or exc}. Check the file or folder, or remove it from the batch."
    return f"{shown}: {why}"


_LINE_IN_MESSAGE = re.compile(r"^:(\d+):|(?<![\w(])lines? (\d+)\b")


def _row(path: Path | str, doc_id: str | None, status: str, error: str | None, message: str,
         line: int | None = None, n_segments: int | None = None) -> dict:
    if line is None:
        # The ``line`` column holds the first line the message is about ("path:12: ...", "line 16: ...").
        rest = message[len(str(path)):] if message.startswith(str(path)) else message
        found = _LINE_IN_MESSAGE.search(rest)
        line = int(found.group(1) or found.group(2)) if found else None
    return {"path": str(path), "doc_id": doc_id, "status": status, "error": error, "message": message,
            "line": line, "n_segments": n_segments}


def _id_root(items: Sequence[str | Path]) -> Path | None:
    """Where ``doc_id="path"`` ids of files under absolute inputs start: the folder holding what the user gave.

    A relative input already gives a relative id (``ronda1/entrevista_01.txt``, as typed); an absolute one
    would put the machine's folders (``/home/ana/...``) into ids and exports. Its id starts where the same
    input typed relatively would: each folder given counts with its own name (``ronda1/...``), each file
    given from its folder, a glob from its fixed folder (``/data/estudio/ronda*/*.docx`` → ``ronda1/...``);
    with several absolute inputs, from their common root, so files of the same name in two folders stay apart.
    """
    parents: list[str] = []
    for item in items:
        text = str(item)
        if not Path(text).is_absolute():
            continue
        if any(ch in text for ch in "*?[") and not Path(text).exists():
            fixed = Path(*itertools.takewhile(lambda x: not any(ch in x for ch in "*?["), Path(text).parts))
            parents.append(str(fixed))
        else:
            parents.append(str(Path(text).parent))
    return Path(os.path.commonpath(parents)) if parents else None


def _doc_id_for(path: Path, rule: str | Callable[[Path], str], root: Path | None = None) -> str:
    if callable(rule):
        value = rule(path)
    elif rule == "stem":
        value = path.stem
    elif rule == "name":
        value = path.name
    elif rule == "path":
        # Relative to the folder the user gave (see _id_root): the same on every machine.
        value = path.as_posix()
        if root is not None and path.is_absolute() and path.is_relative_to(root):
            value = path.relative_to(root).as_posix()
    else:
        raise ParameterError(f"doc_id must be 'stem', 'name', 'path' or a function, got {rule!r}.")
    # macOS stores accented file names decomposed (NFD); ids must not depend on that.
    return unicodedata.normalize("NFC", str(value)).strip()


def _read_one(path: Path, fmt: str,
              speakers: frozenset[str]) -> tuple[ParsedTranscript, str, bytes, list[str], str | None]:
    """Parse one transcript; also return what its reader warns about (tracked changes, repaired lines) and, for
    an unlabelled text file that lines up as a table, the hint to load it as a survey."""
    if not path.exists():
        raise InputFileError(f"{path}: no such file. Check the path.", path=path)
    data = path.read_bytes()
    if fmt == "docx":
        word = read_docx(path)
        parsed = parse_transcript(word.text, path=path, speakers=speakers)
        parsed.notes[:0] = word.notes
        return parsed, "docx", data, word.warnings, None
    decoded = read_decoded(path, data=data)
    if fmt in ("vtt", "srt"):
        parsed = parse_subtitles(decoded.text, path=path, kind=fmt, speakers=speakers)
    else:
        parsed = parse_transcript(decoded.text, path=path, speakers=speakers)
    # The report row names the file once, so what the readers say does not repeat it.
    parsed.notes[:0] = decoded.notes()
    warnings = decoded.warnings()
    # Only a file without speaker labels can be a table read by mistake ("E:\t¿Hola?" lines line up too).
    hint = table_hint(decoded.text) if fmt in ("txt", "md") and not parsed.labelled else None
    return parsed, decoded.encoding, data, warnings, hint


def _load_file(job: _Job, *, survey: SurveyColumns | None,
               doc_id: str | Callable[[Path], str], language: str | None, root: Path | None,
               speakers: frozenset[str], interviewer: Sequence[str] = ()) -> tuple[list[ReadDocument], dict]:
    """Read one file into documents and its report row (runs in worker processes too: no shared state)."""
    path, fmt, did, remembered = job
    if remembered is not None:
        speakers, interviewer = remembered[0], remembered[1]
    try:
        if fmt is None:
            if path.suffix.lower() in CONVERTIBLE:
                raise UnsupportedFormatError(f"{path}: not read: {CONVERTIBLE[path.suffix.lower()]}", path=path)
            raise UnsupportedFormatError(
                f"{path}: qualcode does not read {path.suffix or 'suffix-less'} files; supported: "
                f"{', '.join(sorted(SUFFIXES))}.", path=path)
        if fmt in ("txt", "md") and survey is not None and is_survey_table(path, survey):
            fmt = "csv"  # Excel's "Unicode Text" export: a tab-separated survey named .txt
        if fmt in ("csv", "xlsx"):
            if survey is None:
                raise UnsupportedFormatError(_survey_needed(path), path=path)
            stem = _doc_id_for(path, doc_id, root)
            made = []
            repaired: list[str] = []
            for response_id, attrs, parsed in read_survey(path, survey, warnings=repaired):
                sha = hashlib.sha256(parsed.text.encode("utf-8")).hexdigest()
                made.append(ReadDocument(f"{stem}#{response_id}", str(path), fmt, "n/a", sha, parsed, language or "",
                                      attrs))
            n = sum(len(d.parsed.turns) for d in made)
            return made, _row(path, f"{stem}#*", "warning" if repaired else "ok", None,
                              "; ".join([f"{len(made)} responses, {n} answers", *repaired]), None, n)
        parsed, encoding, data, warnings, survey_hint = _read_one(path, fmt, speakers)
        warnings = warnings + ([survey_hint] if survey_hint else [])
        if not parsed.turns:
            raise InputFileError(f"{path}: no speech found in the file.", path=path)
        parsed.interviewer, who, guessed = find_interviewer(parsed, interviewer)
        doc = ReadDocument(str(did), str(path), fmt, encoding, hashlib.sha256(data).hexdigest(), parsed, language or "")
        speakers_seen = {t.speaker for t in parsed.turns if t.speaker}
        # A turn cut by a time mark inside its speech goes on (continues): it is still one turn, as n_turns says.
        n_turns = sum(1 for t in parsed.turns if not t.continues)
        notes = [*warnings, f"{n_turns} turns, {len(speakers_seen)} speakers" + (f"; {who}" if who else "")]
        notes += parsed.notes
        if remembered is not None:
            notes.append(remembered[2])
        status = "warning" if warnings or parsed.uncertain or guessed else "ok"
        if not parsed.labelled:
            lines = sum(1 for line in parsed.text.split("\n") if line.strip())
            n = n_turns
            read_as = (f"no speaker labels found in {parsed.counted or f'{lines} lines'}: read as one unnamed "
                       f"speaker (a participant), {n} turn{'s' * (n != 1)} ({parsed.joined})")
            # A table read by mistake has its own remedy (survey=) above, and a reader that knows the format gives
            # its own (subtitles: where to write the names); the generic one would contradict them.
            own_remedy = any("speakers=[" in note for note in parsed.notes)
            notes[len(warnings)] = read_as if survey_hint or own_remedy else (
                f"{read_as}. If the file has labels, name them: speakers=['Name', ...] "
                "(command line: --speakers 'Name')")
            if who:  # an interviewer was named for a file without labels: the row says nobody is taken
                notes[len(warnings)] += f"; {who}"
        elif any("overlaps" in n or "empty cue" in n for n in notes):
            status = "warning"
        row = _row(path, did, status, None, f"{path}: " + "; ".join(notes))
        if not parsed.labelled:
            row["_warn"] = True  # warned in the calling process: a worker's warnings never reach the user
        return [doc], row
    except QualcodeError as exc:
        return [], _row(path, None, "error", type(exc).__name__, str(exc), getattr(exc, "line", None))
    except OSError as exc:  # the system would not open it (a path too long, no permission): one failed input
        return [], _row(path, None, "error", "InputFileError", _unreadable(path, exc))
    except Exception as exc:  # a reader bug must not sink the batch; say so plainly
        return [], _row(path, None, "error", type(exc).__name__,
                        f"{path}: unexpected error while reading ({type(exc).__name__}: {exc}). "
                        "Please report this with the file's format (not its content).")


def _survey_needed(path: Path) -> str:
    """The error for a spreadsheet loaded without ``survey=``: the remedy names the file's own columns."""
    try:
        frame = read_table(path)
    except QualcodeError as exc:  # unreadable: say that first, the columns cannot be named
        return f"{exc} Spreadsheets are read as survey answers, with survey=SurveyColumns(id=..., text=[...])."
    header = [str(c) for c in frame.columns]
    if len(header) < 2:
        return (f"{path}: spreadsheets are read as survey answers, one column with an id per response and at "
                f"least one answer column, but this one has {len(header)} column ({', '.join(header)}); "
                "add an id column (or load it with attributes=... if this is the attributes sheet).")
    rows = [["" if v is None else str(v) for v in row] for row in frame.head(200).itertuples(index=False)]
    ident, answers, rest = survey_columns_guess(header, rows)
    kept = f"; {', '.join(rest)} would be kept as attributes" if rest else ""
    return (f"{path}: spreadsheets are read as survey answers; its columns are {', '.join(header)}. Load it with "
            f"survey=SurveyColumns(id={ident!r}, text={answers!r}) naming the id column and every answer "
            f"column (change them if another column is the id or holds answers){kept}; or with attributes=... "
            "if this is the attributes sheet.")


# A file's job: its path, format, document id, and the labels remembered for it (folded speakers, the
# interviewer's labels as written, what its row says about them), or None.
_Job = tuple[Path, str | None, str | None, tuple[frozenset[str], tuple[str, ...], str] | None]
# The words of a report row that says a file was read with the labels remembered for it (the CLI shows those rows).
REMEMBERED = "given when it was last added with labels"


def _shown(given: Mapping[str, Sequence[str]]) -> str:
    parts = [f"{key} {', '.join(repr(v) for v in given.get(key, ()))}" for key in ("interviewer", "speakers")
             if given.get(key)]
    return "; ".join(parts)


def _remembered_labels(given: Mapping[str, Sequence[str]] | None, speakers: Sequence[str],
                       interviewer: Sequence[str]) -> tuple[frozenset[str], tuple[str, ...], str] | None:
    """The labels to read a file with when it was first added with some, and what its row says about them."""
    if not given or not (given.get("speakers") or given.get("interviewer")):
        return None
    if not speakers and not interviewer:
        return (frozenset(fold_label(s) for s in given.get("speakers", ())),
                tuple(given.get("interviewer", ())),
                f"using the labels {REMEMBERED}: {_shown(given)} (to replace them, give others: "
                "interviewer=[...] / --interviewer, speakers=[...] / --speakers)")
    now = {"speakers": list(speakers), "interviewer": list(interviewer)}
    if all(sorted(map(fold_label, now[k])) == sorted(map(fold_label, given.get(k, ()))) for k in now):
        return None
    return (frozenset(fold_label(s) for s in speakers), tuple(interviewer),
            f"the labels given now ({_shown(now)}) replace those {REMEMBERED} ({_shown(given)})")


def _load_group(group: list[_Job], *, task: Callable) -> list:
    return [task(job) for job in group]


def load_corpus(
    paths_or_glob: PathsLike,
    *,
    attributes: str | Path | pd.DataFrame | None = None,
    unit: Literal["turn", "paragraph", "sentence"] = "turn",
    language: Literal["es", "en"] | None = None,
    survey: SurveyColumns | None = None,
    speakers: Sequence[str] = (),
    interviewer: Sequence[str] = (),
    doc_id: Literal["stem", "name", "path"] | Callable[[Path], str] = "stem",
    remembered: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    attributes_key: str | None = None,
    required_attributes: Sequence[str] = (),
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
) -> tuple[Corpus, LoadReport]:
    """Load transcripts into a :class:`~qualcode.corpus.Corpus`, reporting every file.

    Parameters
    ----------
    paths_or_glob : path, folder, glob pattern, or a list of them
        ``.txt``/``.md`` with speaker labels, ``.docx``, ``.vtt``, ``.srt``,
        and, with ``survey``, ``.csv``/``.xlsx`` survey answers. Folders are
        read recursively; hidden files and Office lock files are ignored.
    attributes : path or DataFrame, optional
        Participant attributes, one row per document, keyed by document id
        or file name (see :func:`~qualcode.io.tables.read_attributes`).
    unit : {"turn", "paragraph", "sentence"}
        What a segment is. Sentences come from a blank spaCy pipeline.
    language : {"es", "en"}, optional
        Force one language; otherwise a ``language`` attribute or detection decides.
    survey : SurveyColumns, optional
        How to read ``.csv``/``.xlsx`` files as survey answers.
    speakers : sequence of str
        Labels to accept as speakers in every file, in any shape (``Name:``,
        ``[Name]:``, ``Name  0:03`` or ``Name`` alone on a line), for labels
        qualcode does not recognise on its own (see :mod:`qualcode.io.text`).
    interviewer : sequence of str
        Labels of the interviewer. Without it, each file's interviewer is a
        role word (``Entrevistadora``, ``Moderadora``, ``E``, ``Interviewer``)
        or, failing that, a guess: the speaker who asks most of the questions.
        The report row of every file says who was taken and why.
    doc_id : {"stem", "name", "path"} or callable
        How a file's document id is made (default: file name without suffix). ``"path"`` keeps the folders
        (files of the same name in two folders): a relative input as typed (``ronda1/entrevista_01.txt``);
        an absolute one from the folder holding what was given, never the machine's folders
        (``/home/ana/estudio/ronda1`` → ``ronda1/entrevista_01.txt``; several: from their common root).
    remembered : mapping, optional
        The labels documents were first loaded with, by document id (``{"int_01": {"speakers": [...],
        "interviewer": [...]}}``, as :meth:`qualcode.Project.load_options` returns them). A file whose
        document has some is read with them when neither ``speakers`` nor ``interviewer`` is given; when
        other labels are given, they are used. Either way its report row says so.
    workers : int
        Read files in this many processes (large rounds); the result is identical to one worker.
    scheduler : str, optional
        Read them on the Dask cluster at this address instead (extra
        ``qualcode[dask]``; the workers must see the files at the same paths).
    progress : bool
        Show a progress bar over the files (see :mod:`qualcode.progress`).

    Returns
    -------
    (Corpus, LoadReport)
        The corpus of every file that loaded, and one report row per file
        (plus rows for attribute-sheet mismatches).

    Raises
    ------
    AttributesError
        If the attributes sheet itself is invalid (every problem listed).
    InputFileError
        If a glob matches nothing. Problems with single files are reported, not raised.

    Warns
    -----
    NoSpeakerLabelsWarning
        For each file read without speaker labels; the message names the file.

    Examples
    --------
    >>> corpus, report = load_corpus("data_samples/transcripts",
    ...                              attributes="data_samples/attributes.csv")  # doctest: +SKIP
    >>> report["status"].value_counts()  # doctest: +SKIP
    """
    check_unit(unit)
    check_lang(language, "language", none="detect")
    attr_frame: pd.DataFrame | None = None
    rows: list[dict] = []
    skip: set[Path] = set()
    if attributes is not None:
        attr_frame, warnings = read_attributes(attributes, key=attributes_key, required=required_attributes)
        source = "attributes" if isinstance(attributes, pd.DataFrame) else str(attributes)
        rows += [_row(source, None, "warning", "AttributesWarning", w) for w in warnings]
        if not isinstance(attributes, pd.DataFrame):
            skip.add(Path(attributes).resolve())
    items = [paths_or_glob] if isinstance(paths_or_glob, (str, Path)) else list(paths_or_glob)
    files, skipped = _expand(items, skip)
    root = _id_root(items)
    rows += skipped
    forced_speakers = frozenset(fold_label(s) for s in speakers)
    docs: list[ReadDocument] = []
    owner: dict[str, Path] = {}

    # Document ids come from file names, so clashes are found before anything is read; survey
    # responses get their ids from the content and are checked after reading.
    jobs: list[_Job] = []
    outcomes: list[tuple[list[ReadDocument], dict] | None] = []
    for path in files:
        fmt = SUFFIXES.get(path.suffix.lower())
        did = None
        if fmt is not None and fmt not in ("csv", "xlsx"):
            did = _doc_id_for(path, doc_id, root)
            if did in owner:
                # Only a rule that tells the two files apart is a remedy: same-named files in two folders
                # differ by their path alone.
                rules = [r for r in ("name", "path") if _doc_id_for(path, r, root) != _doc_id_for(owner[did], r, root)]
                fix = (f"Rename one of the files, or load with {' or '.join(f'doc_id={r!r}' for r in rules)} to "
                       "keep both." if rules else "The same file is given twice: give it once.")
                error = DuplicateDocumentError(
                    f"{path}: would get document id {did!r}, which {owner[did]} already has. {fix}", path=path)
                outcomes.append(([], _row(path, None, "error", type(error).__name__, str(error))))
                continue
            owner[did] = path
        given = (remembered or {}).get(did) if did is not None else None
        jobs.append((path, fmt, did, _remembered_labels(given, speakers, interviewer)))
        outcomes.append(None)
    task = partial(_load_file, survey=survey, doc_id=doc_id, language=language, root=root, speakers=forced_speakers,
                   interviewer=tuple(interviewer))
    with using(workers, scheduler, progress=progress) as runner:
        if runner.parallel:
            # Files travel to workers in groups: a message per file costs more than a small file takes.
            size = max(1, min(16, len(jobs) // (4 * max(runner.workers, 2))))
            groups = runner.map(partial(_load_group, task=task), batches(jobs, size), desc="load (groups of files)")
            results = [r for group in groups for r in group]
        else:
            results = runner.map(task, jobs, desc="load")
    it = iter(results)
    done: list[tuple[list[ReadDocument], dict]] = [next(it) if outcome is None else outcome for outcome in outcomes]
    for (made, row) in done:
        clash = next((d for d in made if d.doc_id in owner and owner[d.doc_id] != Path(d.source_path)), None)
        if clash is not None:
            error = DuplicateDocumentError(
                f"{row['path']}: would get document id {clash.doc_id!r}, which {owner[clash.doc_id]} already has.",
                path=row["path"])
            row = _row(row["path"], None, "error", type(error).__name__, str(error))
            made = []
        for doc in made:
            owner.setdefault(doc.doc_id, Path(doc.source_path))
        docs += made
        rows.append(row)

    assign_languages(docs, language, attr_frame)
    corpus = Corpus._from_documents(docs, unit=unit, interviewer=frozenset(fold_label(s) for s in interviewer))
    if survey is not None:
        merge_survey_attributes(corpus, docs)
    if attr_frame is not None:
        rows += _merge_attributes(corpus, attr_frame, str(attributes) if not isinstance(attributes, pd.DataFrame)
                                  else "attributes")
    counts = corpus.documents.set_index("doc_id")["n_segments"] if len(corpus.documents) else pd.Series(dtype=int)
    for row in rows:
        if row["doc_id"] in counts.index and row["n_segments"] is None:
            row["n_segments"] = int(counts[row["doc_id"]])
    for row in rows:
        if row.pop("_warn", False):
            pywarnings.warn(NoSpeakerLabelsWarning(str(row["message"])), stacklevel=2)
    report = LoadReport(pd.DataFrame(rows, columns=_REPORT_COLUMNS))
    report["line"] = report["line"].astype("Int64")
    report["n_segments"] = report["n_segments"].astype("Int64")
    log.info("loaded %d documents, %d segments; %d inputs failed", len(corpus.documents),
             len(corpus.segments), report.n_errors)
    return corpus, report


def assign_languages(docs: list[ReadDocument], language: str | None, attrs: pd.DataFrame | None) -> None:
    """Set each read document's ``language`` in place, as :func:`load_corpus` does before segmenting.

    Parameters
    ----------
    docs : list of ReadDocument
        The documents read; their ``language`` is overwritten unless ``language`` is given.
    language : {"es", "en"} or None
        The language the user chose for every document; when given, ``docs`` are left as they are
        (the readers already set it).
    attrs : DataFrame or None
        The attributes sheet (:func:`read_attributes`); its ``language`` column, when present, names a
        document's language, matched by document id, file name or stem (accents and case folded).

    Notes
    -----
    A document without a given language gets the one :func:`qualcode.nlp.language.detect_language` finds in
    its text; when that finds none, the corpus's most frequent detected language, else ``"es"``.

    Examples
    --------
    >>> from qualcode.corpus import ParsedTranscript, ReadDocument
    >>> doc = ReadDocument("d1", "d1.txt", "txt", "utf-8", "", ParsedTranscript("We talked about the school.", []), "")
    >>> assign_languages([doc], None, None); doc.language
    'en'
    """
    if language is not None:
        return
    given: dict[str, str] = {}
    if attrs is not None and "language" in attrs.columns:
        lookup = _attribute_lookup(attrs)
        for doc in docs:
            row = _match(doc, lookup)
            if row is not None and attrs.at[row, "language"]:
                given[doc.doc_id] = str(attrs.at[row, "language"])
    detected = [given.get(d.doc_id) or detect_language(d.parsed.text) for d in docs]
    known = [lang for lang in detected if lang]
    fallback = max(set(known), key=known.count) if known else "es"
    for doc, lang in zip(docs, detected, strict=True):
        doc.language = lang or fallback


def _attribute_lookup(attrs: pd.DataFrame) -> dict[str, Hashable]:
    lookup: dict[str, Hashable] = {}
    for row, key in attrs["doc_id"].items():
        lookup.setdefault(fold(unicodedata.normalize("NFC", key)), row)
    return lookup


def _match(doc: ReadDocument, lookup: dict[str, Hashable]) -> Hashable | None:
    path = Path(doc.source_path)
    for key in (doc.doc_id, path.name, path.stem):
        row = lookup.get(fold(unicodedata.normalize("NFC", key)))
        if row is not None:
            return row
    return None


def _merge_attributes(corpus: Corpus, attrs: pd.DataFrame, source: str) -> list[dict]:
    """Add attribute columns to documents and segments; report rows that match nothing and vice versa."""
    rows: list[dict] = []
    lookup = _attribute_lookup(attrs)
    columns = [c for c in attrs.columns if c not in ("doc_id", "language")]
    matched: dict[str, Hashable] = {}
    for doc_path, did in zip(corpus.documents["source_path"], corpus.documents["doc_id"], strict=True):
        stub = ReadDocument(did, doc_path, "", "", "", ParsedTranscript("", []), "")
        row = _match(stub, lookup)
        if row is None and "#" in did:
            row = lookup.get(fold(did.split("#", 1)[1]))
        if row is None:
            rows.append(_row(doc_path, did, "warning", "AttributesWarning",
                             f"{source}: no row for document {did!r}; its attribute columns are left empty. "
                             "Add a row for it to the sheet."))
        else:
            matched[did] = row
    used = set(matched.values())
    for row, key in attrs["doc_id"].items():
        if row not in used:
            rows.append(_row(source, None, "warning", "AttributesWarning",
                             f"{source}, row {row}: document {key!r} is not in the corpus "
                             "(a misspelt id, or a transcript that failed to load or is missing).",
                             row))  # type: ignore[arg-type]  # the sheet's row label: its row number, from a file
    ids = corpus.documents["doc_id"]
    for column in columns:
        values: dict[str, Any] = {did: attrs.at[row, column] for did, row in matched.items()}  # the sheet's text
        series = pd.array([values.get(d) for d in ids], dtype="string")
        corpus.documents[column] = _typed(series)
        by_doc = dict(zip(ids, corpus.documents[column], strict=True))
        corpus.segments[column] = corpus.segments["doc_id"].map(by_doc)
        corpus.segments[column] = corpus.segments[column].astype(corpus.documents[column].dtype)
    return rows


def _typed(values: pd.api.extensions.ExtensionArray) -> pd.Series:
    """Whole-number columns (round, cycle) become integers so they sort as numbers."""
    series = pd.Series(values)
    present = series.dropna()
    present = present[present != ""]
    if len(present) and present.str.fullmatch(r"-?(0|[1-9]\d{0,8})").all():
        return pd.to_numeric(series.replace("", pd.NA)).astype("Int64")
    return series.replace("", pd.NA)


def merge_survey_attributes(corpus: Corpus, docs: list[ReadDocument]) -> None:
    """Add survey responses' own columns (``ReadDocument.attributes``) to the corpus tables, in place.

    Parameters
    ----------
    corpus : Corpus
        Built from ``docs``; each attribute becomes a column of ``corpus.documents`` and
        ``corpus.segments`` (first-seen order), empty (``<NA>``) for documents without it.
    docs : list of ReadDocument
        The documents the corpus was built from.

    Notes
    -----
    Columns holding only whole numbers (``round``, ``cycle``) become ``Int64`` so they sort as numbers;
    the others are ``string``.
    """
    attrs = {d.doc_id: d.attributes for d in docs}
    columns: list[str] = []
    for value in attrs.values():
        for column in value or {}:
            if column not in columns:
                columns.append(column)
    ids = corpus.documents["doc_id"]
    for column in columns:
        series = _typed(pd.array([(attrs.get(d) or {}).get(column) for d in ids], dtype="string"))
        corpus.documents[column] = series.values
        by_doc = dict(zip(ids, series, strict=True))
        corpus.segments[column] = corpus.segments["doc_id"].map(by_doc).astype(series.dtype)
