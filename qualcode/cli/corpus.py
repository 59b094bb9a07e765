"""``qualcode load``: read transcripts and print what was loaded."""

from __future__ import annotations

import shlex
import warnings
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import typer

from ..errors import NoSpeakerLabelsWarning, ParameterError, QualcodeError
from ..io import SurveyColumns, load_corpus
from ..io.tables import read_table, survey_columns_guess
from .app import NOTHING_DONE, PARTLY_DONE, app, command, in_cli_words, lang_option, say, shown

__all__ = ["DOC_ID", "INTERVIEWER", "SPEAKERS", "SURVEY_ID", "SURVEY_SPEAKER", "SURVEY_TEXT", "in_cli_words",
           "load_options"]

SPEAKERS = typer.Option(None, "--speakers", metavar="LABEL",
                        help="A speaker label qualcode does not recognise on its own (repeat for more), "
                             "e.g. --speakers 'Marta Rojas' --speakers 'SPEAKER_00'.")
INTERVIEWER = typer.Option(None, "--interviewer", metavar="LABEL",
                           help="The interviewer's label in the files (repeat for more), e.g. --interviewer "
                                "'Hablante 1'. Default: a role word (Entrevistadora, Moderadora, E:), else "
                                "the speaker who asks most questions; each file's row says who and why.")
SURVEY_ID = typer.Option(None, "--survey-id", metavar="COLUMN",
                         help="Read .csv/.xlsx files (and a tab-separated .txt such as Excel's \"Unicode Text\") "
                              "as survey answers: the column with one id per response. Needs --survey-text.")
SURVEY_TEXT = typer.Option(None, "--survey-text", metavar="COLUMN",
                           help="With --survey-id: an answer column (repeat for more); each answer is a segment.")
SURVEY_SPEAKER = typer.Option(None, "--survey-speaker", metavar="COLUMN",
                              help="With --survey-id: the column naming who answered (default: the id column).")
DOC_ID = typer.Option("stem", "--doc-id", metavar="stem|name|path",
                      help="How document ids are made from file names: stem (entrevista_01), name "
                           "(entrevista_01.docx) or path (ronda1/entrevista_01.txt, for files of the same name "
                           "in different folders). path is relative: to the current folder for relative "
                           "paths, as typed; for absolute paths, to the folder holding the folders and files "
                           "given (/home/ana/estudio/ronda1 gives ronda1/entrevista_01.txt), so ids never "
                           "carry this machine's folders.")


def _table_columns(paths: Iterable[str | Path]) -> tuple[Path, list[str], str] | None:
    """The first spreadsheet among the given paths (a folder's too), its columns and the options naming them."""
    for item in paths:
        folder = Path(item)
        found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in _TABLES) if folder.is_dir() else \
            [folder] if folder.suffix.lower() in _TABLES and folder.is_file() else []
        for path in found[:1]:
            try:
                frame = read_table(path)
            except QualcodeError:
                continue
            header = [str(c) for c in frame.columns]
            if len(header) < 2:
                continue
            rows = [["" if v is None else str(v) for v in row] for row in frame.head(200).itertuples(index=False)]
            ident, answers, _ = survey_columns_guess(header, rows)
            words = " ".join([f"--survey-id {shlex.quote(ident)}",
                              *(f"--survey-text {shlex.quote(a)}" for a in answers)])
            return path, header, words
    return None


_TABLES = (".csv", ".tsv", ".xlsx", ".xlsm")


def load_options(survey_id: str | None, survey_text: list[str] | None, survey_speaker: str | None,
                 doc_id: str, paths: Iterable[str | Path] = ()) -> dict:
    """The ``survey`` and ``doc_id`` arguments of :func:`~qualcode.io.load_corpus` from the command-line options.

    ``paths`` (the files and folders to load), when given, let a refusal name the columns of the first
    spreadsheet among them.

    Raises
    ------
    ParameterError
        For a survey option without the others it needs, or an unknown ``--doc-id``; the message is in
        command-line words.

    Examples
    --------
    >>> load_options("ticket", ["q1"], None, "path")["survey"].text
    ['q1']
    """
    if doc_id not in ("stem", "name", "path"):
        raise ParameterError(f"--doc-id must be stem, name or path, got {doc_id!r}.")
    if survey_id is None and (survey_text or survey_speaker):
        raise ParameterError("--survey-text and --survey-speaker need --survey-id COLUMN (the response id column).")
    if survey_id is not None and not survey_text:
        table = _table_columns(paths)
        named = (f": {table[0]} has the columns {', '.join(table[1])} (for example {table[2]})"
                 if table is not None else "")
        raise ParameterError(f"--survey-id needs at least one --survey-text COLUMN (an answer column){named}.")
    survey = SurveyColumns(id=survey_id, text=list(survey_text or []), speaker=survey_speaker) \
        if survey_id is not None else None
    return {"survey": survey, "doc_id": doc_id}


@app.command("load")
@command
def load(
    paths: list[str] = typer.Argument(..., help="Transcript files, folders or glob patterns."),
    attributes: Path | None = typer.Option(None, "--attributes", "-a", help="Participant attributes sheet (CSV/XLSX)."),
    unit: str = typer.Option("turn", help="Segment unit: turn, paragraph or sentence."),
    language: str | None = typer.Option(None, callback=lang_option,
                                        help="Force es or en (default: detect per document)."),
    speakers: list[str] | None = SPEAKERS,
    interviewer: list[str] | None = INTERVIEWER,
    survey_id: str | None = SURVEY_ID,
    survey_text: list[str] | None = SURVEY_TEXT,
    survey_speaker: str | None = SURVEY_SPEAKER,
    doc_id: str = DOC_ID,
) -> None:
    """Load transcripts and print a summary per document and any problems.

    Example:

        qualcode load data_samples/transcripts --attributes data_samples/attributes.csv

        qualcode load entrevistas/ --interviewer "Hablante 1" --speakers "SPEAKER_00"

        qualcode load encuesta.txt --survey-id ticket_id --survey-text q1_aprendizaje --survey-text q2_dificultad

        qualcode load ronda1 ronda2 --doc-id path
    """
    try:
        with warnings.catch_warnings():
            # Each file's row below says it, with the remedy; no second, bare copy on stderr.
            warnings.simplefilter("ignore", NoSpeakerLabelsWarning)
            corpus, report = load_corpus(
                paths, attributes=attributes, speakers=speakers or (), interviewer=interviewer or (),
                unit=unit, language=language,  # type: ignore[arg-type]  # the user's text; load_corpus() refuses others
                **load_options(survey_id, survey_text, survey_speaker, doc_id, paths),
            )
    except QualcodeError as exc:
        say(f"error: {in_cli_words(getattr(exc, 'cli_message', None) or str(exc))}", err=True, fg="red",
            lines=True)
        raise typer.Exit(2) from None
    summary = corpus.summary()
    keep = [c for c in ["doc_id", "format", "language", "n_turns", "n_segments", "n_words", "n_speakers",
                        "role", "district", "stage", "round"] if c in summary.columns]
    with pd.option_context("display.max_rows", 200, "display.width", 160, "display.max_columns", 20):
        say(shown(summary[keep]).to_string(index=False), lines=True)
    say("")
    say(f"{corpus!r}")
    by_role = corpus.segments["speaker_role"].value_counts().to_dict()
    say("segments by speaker role: " + ", ".join(f"{k} {v}" for k, v in sorted(by_role.items())))
    files = report[report["doc_id"].notna() & (report["status"] == "ok")]
    if len(files):
        say("")
        say("speakers and interviewer per file:")
        for row in files.itertuples():
            say(f"  {in_cli_words(row.message)}")
    problems = report[report["status"] != "ok"]
    if len(problems):
        say("")
        say(f"{report.n_errors} file(s) failed, {len(problems) - report.n_errors} warning(s):")
        for row in problems.itertuples():
            colour = "red" if row.status == "error" else "yellow"
            say(f"  [{row.status}] {in_cli_words(row.message)}", fg=colour)
    if report.n_errors:
        # 1: some inputs failed, the rest was read; 2: nothing could be read.
        raise typer.Exit(NOTHING_DONE if corpus.documents.empty else PARTLY_DONE)
