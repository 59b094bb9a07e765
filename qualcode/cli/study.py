"""Project commands: init, add, suggest, review export/apply, report, saturation, and the demo."""

from __future__ import annotations

import difflib
import functools
import io
import shlex
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import NoReturn, ParamSpec, TypeVar

import pandas as pd
import typer

from ..analysis import saturation
from ..batch import add_files, count_actions, decision_changes, llm_replaced, run_round
from ..codebook import load_codebook
from ..coders import EnsembleCoder, available_coders
from ..coders.active import QUEUE_ORDERS
from ..coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K
from ..errors import (
    LLMInterrupted,
    NoSpeakerLabelsWarning,
    ParameterError,
    QualcodeError,
    QualcodeWarning,
    SchedulerError,
)
from ..export import export_tables
from ..export.excel import CSV_SEPARATORS, DEFAULT_BY, DEFAULT_ORDER, table_files
from ..export.refi_qda import FOR_TOOLS
from ..io import REMEMBERED
from ..io.atomic import atomic_write_bytes, check_outputs, check_writable, write_failure
from ..io.cells import reporting
from ..io.roles import ROLES, parse_roles
from ..messages import counted, header, headers
from ..messages import say as say_word
from ..parallel import scheduler_address
from ..project import Project
from ..review.decisions import coded_quotes
from ..review.decisions import undecided as not_decided
from ..review.sheet import apply_review, export_review_sheet, read_review_sheet
from ..workflow import Pseudonymizer, export_refi_qda, export_report, suggest
from .app import (
    DESCRIPTIONS_HELP,
    INTERRUPTED,
    NOTHING_DONE,
    PARTLY_DONE,
    QUIET,
    app,
    command,
    description_option,
    in_cli_words,
    lang_option,
    say,
    shown,
)
from .corpus import (
    DOC_ID,
    INTERVIEWER,
    SPEAKERS,
    SURVEY_ID,
    SURVEY_SPEAKER,
    SURVEY_TEXT,
    load_options,
)
from .llm_options import (
    API_KEY,
    LLM_CONCURRENCY,
    LLM_EXAMPLES,
    LLM_FEW_SHOT_CHARS,
    LLM_MAX_TOKENS,
    LLM_TIMEOUT,
    LLM_URL,
    MODEL,
    llm_coder,
    llm_interrupted,
)

P = ParamSpec("P")
R = TypeVar("R")

review_app = typer.Typer(help="Review suggestions in a spreadsheet: export a workbook, apply it back.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")


WORKERS = typer.Option(1, "--workers", "-w", min=1, help="Spread the work over this many local processes "
                                                         "(results identical to one).")


def _scheduler(value: str | None) -> str | None:
    """Check --scheduler before anything runs (the address only: it is reached when the work starts)."""
    if value is None:
        return None
    try:
        return scheduler_address(value)
    except SchedulerError as exc:
        raise typer.BadParameter(getattr(exc, "cli_message", str(exc)).removeprefix("--scheduler ")) from exc


# "[dask]" is escaped: Typer's help is Rich markup, where a bare [dask] is a style tag and vanishes.
SCHEDULER = typer.Option(None, "--scheduler", metavar="ADDRESS", callback=_scheduler,
                         help="Run the work on this Dask scheduler (tcp://host:8786; pip install "
                              "'qualcode\\[dask]'). Workers must see the transcript files at the same paths. "
                              "Reaching it may take QUALCODE_SCHEDULER_TIMEOUT seconds (default 5).")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace existing files of these names (by default an existing "
                                                    "file, perhaps someone's work, is never replaced).")


METHODS_HELP = ("Suggestion methods, comma-separated: " + ", ".join(
    name for name in available_coders() if name != EnsembleCoder.method)
    + " (learned is added by itself once suggestions are reviewed).")


def _methods(spec: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in spec.split(",") if m.strip())


def _fail(exc: Exception, code: int = NOTHING_DONE) -> NoReturn:
    # Errors that name a Python parameter carry the same message in command-line words.
    say(f"error: {getattr(exc, 'cli_message', None) or in_cli_words(str(exc))}", err=True, fg="red", lines=True)
    # A refused write did nothing at all: exit 2, as for any command that could do nothing.
    raise typer.Exit(code)


def showing_warnings(command: Callable[P, R]) -> Callable[P, R]:
    """Show qualcode's warnings during ``command`` as ``warning:`` lines.

    For example the characters replaced in a written file.
    """
    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as recorded:
                warnings.simplefilter("always", QualcodeWarning)
                try:
                    return command(*args, **kwargs)
                finally:
                    caught = list(recorded)
        finally:
            # Outside the recording context: a warning passed on from inside it would be recorded again and
            # again while this loop reads the list (the list grew until memory ran out).
            for warning in caught:
                if issubclass(warning.category, QualcodeWarning):
                    say(f"warning: {in_cli_words(str(warning.message))}", err=True, fg="yellow", lines=True)
                else:
                    warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)

    return wrapper


@app.command("init")
@command
def init(project: Path = typer.Argument(..., help="Project file to create (e.g. study.qualcode)."),
         codebook: str = typer.Option("nic_study", "--codebook", "-c", help="Codebook file or shipped name."),
         roles: str | None = typer.Option(None, "--roles", help="Which attribute column plays which role, e.g. "
                                          "\"participant=Participante,date=Fecha,stage=Etapa\" (roles: "
                                          f"{', '.join(ROLES)}); usual Spanish and English headers are "
                                          "recognised without it.")) -> None:
    """Create a project file with a codebook (and, optionally, the roles of the study's attribute columns).

    Examples:

        qualcode init study.qualcode --codebook codebooks/collaboration.yaml

        qualcode init estudio.qualcode --roles "participant=Participante,date=Fecha,stage=Etapa"
    """

    declared = parse_roles(roles) if roles else None
    book = load_codebook(codebook)
    with Project.create(project) as p:
        version = p.add_codebook(book)
        if declared:
            p.set_roles(declared)
    say(f"created {project} with codebook {book.id} ({len(book)} codes, version {version})")
    if declared:
        say("roles: " + ", ".join(f"{role}={column}" for role, column in declared.items()))


@app.command("roles")
@command
def roles_cmd(project: Path = typer.Argument(..., help="Project file."),
              set_: str | None = typer.Option(None, "--set", help="Declare roles, e.g. \"participant=Quién,"
                                              "date=Cuándo\" (replaces the declared ones).")) -> None:
    """Show which attribute column plays which role (participant, date, stage …), or declare them.

    Examples:

        qualcode roles estudio.qualcode

        qualcode roles estudio.qualcode --set "participant=Quién,date=Cuándo,stage=Momento"
    """
    p = Project.open(project, read_only=set_ is None)
    if set_ is not None:
        p.set_roles(parse_roles(set_))
    roles = p.roles()
    for role in ROLES:
        column = roles.get(role)
        how = "" if column is None else " (recognised from its header)" if f"{role} = {column}" in roles.recognised \
            else " (declared)"
        say(f"{role}: {column or '-'}{how}")
    for role, column in roles.missing.items():
        say(f"  [warning] role {role}={column}: no such attribute column (the documents have "
            f"{', '.join(roles.attributes) or 'none yet'})", fg="yellow")


@app.command("add")
@command
def add(project: Path = typer.Argument(..., help="Project file."),
        paths: list[str] = typer.Argument(..., help="Transcript files, folders or globs."),
        attributes: Path | None = typer.Option(None, "--attributes", "-a", help="Attributes sheet (CSV/XLSX)."),
        unit: str = typer.Option("turn", help="Segment unit: turn, paragraph or sentence."),
        workers: int = WORKERS, scheduler: str | None = SCHEDULER, quiet: bool = QUIET,
        speakers: list[str] | None = SPEAKERS, interviewer: list[str] | None = INTERVIEWER,
        survey_id: str | None = SURVEY_ID, survey_text: list[str] | None = SURVEY_TEXT,
        survey_speaker: str | None = SURVEY_SPEAKER, doc_id: str = DOC_ID) -> None:
    """Add (or update) transcripts; unchanged files are skipped, decisions re-anchor to corrected text.

    Exit code 1 when some files could not be read (each is listed; the rest are added). A file first added
    with --interviewer/--speakers is read with the same labels when added again without them (its row says
    so); giving others replaces them.

    Examples:

        qualcode add study.qualcode data_samples/transcripts --attributes data_samples/attributes.csv

        qualcode add study.qualcode entrevistas/int_03.txt --interviewer "Hablante 1"
    """

    p = Project.open(project)
    with warnings.catch_warnings():  # the rows printed below say it, with the remedy
        warnings.simplefilter("ignore", NoSpeakerLabelsWarning)
        _, result, report = add_files(
            p, paths, attributes=attributes, workers=workers, scheduler=scheduler, progress=not quiet,
            speakers=speakers or (), interviewer=interviewer or (), unit=unit,
            **load_options(survey_id, survey_text, survey_speaker, doc_id, paths),
        )
    failed = report.loc[report["status"] == "error", "path"].nunique() if len(report) else 0
    say(f"{count_actions(result)}{f', {failed} failed (below)' if failed else ''}; "
        f"{int(result['n_reanchored'].sum())} decisions re-anchored, {int(result['n_orphaned'].sum())} orphaned")
    if attributes is not None:
        roles = p.roles()
        columns = ", ".join(roles.attributes)
        if roles.columns:  # which of the sheet's columns the analyses take as participant, date …, and how
            say("roles: " + ", ".join(f"{role}={column}" + (" (recognised)" if f"{role} = {column}" in roles.recognised
                                                            else "") for role, column in roles.columns.items())
                + "; declare others with qualcode roles PROJECT --set ROLE=COLUMN")
        for role, effect in (("participant", "% of participants counts documents (focus groups: speakers)"),
                             ("date", "saturation orders the interviews as they were added")):
            if roles.get(role) is None and roles.attributes:
                say(f"  [warning] no column was recognised as the {role} ({columns}): {effect}; if one is, declare "
                    f"it with: qualcode roles {project} --set \"{role}=COLUMN\"", fg="yellow")
        for role, column in roles.missing.items():
            say(f"  [warning] role {role}={column}: the attributes have no column {column!r} (they have {columns}), "
                f"so it is not used; fix it with: qualcode roles {project} --set \"{role}=COLUMN\"", fg="yellow")
    told = (report["status"] != "ok") | report["message"].str.contains(REMEMBERED, regex=False)
    for row in report[told].itertuples():
        say(f"  [{row.status}] {in_cli_words(row.message)}", fg="red" if row.status == "error" else "yellow")
    if report.n_errors:
        # 1: some inputs failed, the rest was added; 2: nothing could be read, so nothing was done.
        raise typer.Exit(NOTHING_DONE if result.empty else PARTLY_DONE)


@app.command("suggest")
@command
@showing_warnings
def suggest_cmd(project: Path = typer.Argument(..., help="Project file."),
                top_k: int = typer.Option(DEFAULT_TOP_K, "--top-k", help="At most this many codes per segment."),
                min_score: float = typer.Option(DEFAULT_MIN_SCORE, "--min-score",
                                                help="Drop suggestions below this score (a probability: "
                                                     "0.2 means about 1 in 5 such suggestions is coded)."),
                methods: str = typer.Option("keyword,embedding", help=METHODS_HELP),
                learn: bool | None = typer.Option(None, "--learn/--no-learn",
                                                     help="Learn from decisions (default: when there are some)."),
                document: list[str] | None = typer.Option(None, "--document", "-d",
                                                             help="Only this document (repeat for more)."),
                workers: int = WORKERS, scheduler: str | None = SCHEDULER, quiet: bool = QUIET,
                llm: str | None = LLM_URL, model: str | None = MODEL, api_key: str | None = API_KEY,
                llm_timeout: float = LLM_TIMEOUT, llm_concurrency: int = LLM_CONCURRENCY,
                llm_examples: int = LLM_EXAMPLES, llm_few_shot_chars: int = LLM_FEW_SHOT_CHARS,
                llm_max_tokens: int = LLM_MAX_TOKENS) -> None:
    """Suggest codes for participant segments and store them in the project (replacing earlier ones).

    Embeddings of texts seen before come from the project's cache, so a re-run
    encodes only what is new. The first line counts what the project holds for
    the segments suggested: a segment the --llm server gave no usable answer
    keeps its stored suggestions, and the line says how many were kept rather
    than new. Exit code 1 when the LLM gave some segments no usable answer.

    Examples:

        qualcode suggest study.qualcode --top-k 3 --min-score 0.2

        qualcode suggest study.qualcode --workers 2 -d int_d02_final -d int_d05_final

        qualcode suggest study.qualcode --scheduler tcp://10.0.0.5:8786

        qualcode suggest study.qualcode --llm http://localhost:11434/v1 --model qwen2.5:7b-instruct
    """
    try:
        coder = llm_coder(llm, model, api_key, llm_timeout, llm_concurrency, _methods(methods),
                          examples=llm_examples, few_shot_chars=llm_few_shot_chars, max_tokens=llm_max_tokens)
    except ParameterError as exc:
        _fail(exc)
    p = Project.open(project)
    try:
        out = suggest(p, methods=_methods(methods), top_k=top_k,
                      min_score=min_score, learn=learn, documents=document or None, workers=workers,
                      scheduler=scheduler, progress=not quiet, llm=coder)
    except LLMInterrupted as exc:
        say(llm_interrupted(exc, "the suggestions"), err=True, fg="yellow")
        raise typer.Exit(INTERRUPTED) from None
    say(_suggested_line(p, out))
    report = out.attrs.get("llm_report") or {}
    if report.get("failed_segments"):
        kept = set(out.attrs.get("kept_segments") or ())
        for line in _llm_unused_lines(report, kept):
            say(line, err=True, fg="yellow")
        raise typer.Exit(PARTLY_DONE)


def _suggested_line(p: Project, out: pd.DataFrame) -> str:
    """What the project now holds for the segments suggested: this run's rows, and the stored ones kept.

    A segment the LLM gave no usable answer (``attrs["kept_segments"]``) keeps its stored suggestions, and this
    run's rows for it are not stored: the line counts what is stored, and says how much of it was kept.
    """
    kept = set(out.attrs.get("kept_segments") or ())
    new = out[~out["segment_id"].astype(str).isin(kept)] if kept else out
    held = p.suggestions.iloc[0:0]
    if kept:
        stored = p.suggestions
        held = stored[stored["segment_id"].astype(str).isin(kept) & (stored["codebook_version"] ==
                                                                     p.codebook().version)]
    both = pd.concat([new[["segment_id", "method"]], held[["segment_id", "method"]]], ignore_index=True)
    methods = ", ".join(f"{k} {v}" for k, v in both["method"].value_counts().items()) if len(both) else "none"
    line = f"{counted(len(both), 'suggestion')} for {counted(both['segment_id'].nunique(), 'segment')} ({methods})"
    asked = (out.attrs.get("llm_report") or {}).get("n_segments")
    if not len(both) and asked:  # "for 0 segments" would read as if nothing had been asked
        line = f"0 suggestions stored for the {counted(asked, 'segment')} suggested"
    if kept:
        line += (f": {len(new)} new, {len(held)} kept from before for the "
                 f"{counted(len(kept), 'segment')} the LLM gave no usable answer")
    return line


def _llm_unused_lines(report: dict, kept: set[str]) -> list[str]:
    """What the LLM left unsuggested, by kind: segments the server failed on (a re-run once it answers asks
    again) and segments whose answers could not be used (why; a re-run may get the same answers)."""
    def held(segments: list[str]) -> str:
        n_kept = len(kept & set(segments))
        return (f"{counted(n_kept, 'segment')} of them kept {'its' if n_kept == 1 else 'their'} stored suggestions"
                if n_kept else "they have no LLM suggestions")

    lines = []
    failed = report.get("unanswered_segments") or []
    if failed:
        # A re-run helps once the server answers; a context too short or a missing model needs a change first.
        again = {"context": "the request does not fit the model's context: change what the error above says (a "
                            "longer context, --llm-max-tokens, --llm-examples), then run the same command again",
                 "model": "the server does not have that model: pull it or give the name it lists (--model), then "
                          "run the same command again"}.get(str(report.get("stopped_kind")),
                                                             "run the same command again when the server answers")
        lines.append(f"the LLM gave no usable answer for {counted(len(failed), 'segment')}: the server failed on "
                     f"{'it' if len(failed) == 1 else 'them'} ({held(failed)}); {again} (answers received are kept)")
    unusable = report.get("unusable_segments") or []
    if unusable:
        why = report.get("unusable") or {}
        causes = [f"{counted(n, 'answer')} {_UNUSABLE_WORDS.get(cause, cause)}" for cause, n in why.items()]
        causes_said = " and ".join([", ".join(causes[:-1]), causes[-1]] if len(causes) > 1 else causes)
        advice = ["try a larger model"]
        if "codes not in the codebook" in why:
            advice.append("check that the codebook's ids and labels say what the codes are")
        if "cut at max_tokens" in why:
            advice.append("allow a longer answer (--llm-max-tokens)")
        lines.append(f"the LLM gave no usable answer for {counted(len(unusable), 'segment')}: the model answered, "
                     f"but {causes_said or 'its answers could not be used'}; {held(unusable)}. A re-run asks "
                     f"again, but the model may answer the same: {' and '.join(advice)}")
    return lines


#: Why answers could not be used (``llm_report["unusable"]``), as said after their count of segments.
_UNUSABLE_WORDS = {
    "codes not in the codebook": "named only codes not in the codebook (neither an id nor a label)",
    "quotes not in the text": "quoted passages not in the segment's text (paraphrased or translated)",
    "no quote": "gave codes without a quote",
    "cut at max_tokens": "were cut at the answer's token limit",
    "not JSON": "could not be read as JSON",
}


#: Document ids an unknown -d lists in its error (a study of hundreds lists the first ones, and how to see all).
SHOWN_DOCUMENTS = 20


def _segments_of_documents(p: Project, project: Path, documents: list[str]) -> set[str]:
    """The segment ids of ``documents`` (``-d``); an unknown id is an error (exit 2) naming it and the known ones."""
    known = [str(row[0]) for row in p.query("SELECT doc_id FROM documents ORDER BY rowid")]
    wanted = list(dict.fromkeys(documents))
    unknown = [d for d in wanted if d not in set(known)]
    if unknown:
        close = [m for d in unknown for m in difflib.get_close_matches(d, known, n=3)]
        near = f"did you mean {', '.join(dict.fromkeys(close))}? " if close else ""
        listed = ", ".join(known[:SHOWN_DOCUMENTS]) or "none yet (add transcripts: qualcode add PROJECT FILES)"
        more = (f", … ({len(known)} in all; in Python, project.documents['doc_id'] lists every one)"
                if len(known) > SHOWN_DOCUMENTS else "")
        _fail(QualcodeError(f"{project}: no document {', '.join(map(repr, unknown))} in the project; {near}give -d "
                            f"one of its document ids: {listed}{more}"), 2)
    marks = ", ".join("?" * len(wanted))
    return {str(row[0]) for row in p.query(f"SELECT segment_id FROM segments WHERE doc_id IN ({marks})", wanted)}


@app.command("round")
@command
@showing_warnings
def round_cmd(project: Path = typer.Argument(..., help="Project file (created with 'qualcode init')."),
              paths: list[str] = typer.Argument(..., help="The round's transcript files, folders or globs."),
              attributes: Path | None = typer.Option(None, "--attributes", "-a", help="Attributes sheet (CSV/XLSX)."),
              out: Path = typer.Option(Path("."), "--out", "-o", help="Folder for the review and report workbooks."),
              coder: str | None = typer.Option(None, help="Who will review: leaves out what they already decided."),
              lang: str = typer.Option("es", callback=lang_option, help="Workbook language: es or en."),
              name: str | None = typer.Option(None, help="Round name in file names (default: its 'round' attribute)."),
              report: bool = typer.Option(True, "--report/--no-report", help="Also write the report workbook."),
              unit: str = typer.Option("turn", help="Segment unit: turn, paragraph or sentence."),
              methods: str = typer.Option("keyword,embedding", help=METHODS_HELP),
              workers: int = WORKERS, scheduler: str | None = SCHEDULER, quiet: bool = QUIET,
              overwrite: bool = OVERWRITE, speakers: list[str] | None = SPEAKERS,
              interviewer: list[str] | None = INTERVIEWER, survey_id: str | None = SURVEY_ID,
              survey_text: list[str] | None = SURVEY_TEXT, survey_speaker: str | None = SURVEY_SPEAKER,
              doc_id: str = DOC_ID, llm: str | None = LLM_URL, model: str | None = MODEL,
              api_key: str | None = API_KEY, llm_timeout: float = LLM_TIMEOUT,
              llm_concurrency: int = LLM_CONCURRENCY, llm_examples: int = LLM_EXAMPLES,
              llm_few_shot_chars: int = LLM_FEW_SHOT_CHARS, llm_max_tokens: int = LLM_MAX_TOKENS) -> None:
    """Add a round of interviews, suggest codes for what is new, write the review and report workbooks.

    Unchanged files are skipped; only new and changed documents are suggested
    (cached embeddings are reused); decisions are never touched. Files that
    cannot be read are listed and the rest of the round goes on (exit code 1).
    A workbook already in --out is kept as it is: the new one gets the next
    free name (revision_ronda2-2.xlsx), and the summary says so; --overwrite
    replaces it instead. A file first added with --interviewer/--speakers is
    read with the same labels when it comes again without them (its row says
    so); giving others replaces them. A round that was interrupted (Ctrl-C, kill, full
    disk) is finished by running it again: the re-run suggests for what has no
    suggestions yet and writes the review workbook still owed; a workbook the
    interrupted run already wrote is kept as it is, never written over.
    When the LLM's server failed (exit 1), the round still owes its LLM
    step: the same command run again with --llm asks the LLM only for the
    segments it skipped and writes the workbook to fill under the next free
    name, saying which one it replaces; run without --llm, it says the step
    is still owed. Apply the reviewed workbook with 'qualcode review apply'.

    Examples:

        qualcode round study.qualcode entrevistas/ronda2 -a atributos.csv --out ronda2 --coder ana

        qualcode round study.qualcode "nacional/**/*.docx" -a atributos.xlsx --out nacional --workers 8

        qualcode round study.qualcode nacional/ -a atributos.xlsx --scheduler tcp://10.0.0.5:8786

        qualcode round study.qualcode ronda3/ --out ronda3 --llm http://localhost:11434/v1 --model qwen2.5:7b
    """
    try:
        llm_model = llm_coder(llm, model, api_key, llm_timeout, llm_concurrency, _methods(methods),
                              examples=llm_examples, few_shot_chars=llm_few_shot_chars, max_tokens=llm_max_tokens)
    except ParameterError as exc:
        _fail(exc)
    p = Project.open(project)
    try:
        with warnings.catch_warnings():  # the rows printed below say it, with the remedy
            warnings.simplefilter("ignore", NoSpeakerLabelsWarning)
            result = run_round(p, paths, attributes=attributes, out=out, coder=coder, lang=lang, name=name,
                               report=report, methods=_methods(methods),
                               workers=workers, scheduler=scheduler, progress=not quiet, overwrite=overwrite,
                               speakers=speakers or (), interviewer=interviewer or (),
                               **load_options(survey_id, survey_text, survey_speaker, doc_id, paths),
                               unit=unit, llm=llm_model)  # type: ignore[arg-type]  # the user's text; load_corpus() refuses others
    except QualcodeError as exc:
        _fail(exc, 2)
    except LLMInterrupted as exc:
        say(llm_interrupted(exc, "the round"), err=True, fg="yellow")
        raise typer.Exit(INTERRUPTED) from None
    except KeyboardInterrupt:
        say("interrupted: what was saved is kept; run the same command again to finish the round",
            err=True, fg="yellow")
        raise typer.Exit(INTERRUPTED) from None
    rows = result.load_report
    failed = rows[(rows["status"] != "ok") | rows["message"].str.contains(REMEMBERED, regex=False)]
    for row in failed.itertuples():
        say(f"  [{row.status}] {in_cli_words(row.message)}", fg="red" if row.status == "error" else "yellow",
            err=True)
    if result.exit_code == NOTHING_DONE:  # nothing read: the rest of the summary would describe nothing
        say(f"{result.summary()[0]}; nothing was read, so nothing was suggested or written")
        raise typer.Exit(NOTHING_DONE)
    for line in result.summary():
        say(in_cli_words(line))
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@review_app.command("export")
@command
@showing_warnings
def review_export(project: Path = typer.Argument(..., help="Project file."),
                  out: Path = typer.Argument(..., help="Workbook to write (.xlsx)."),
                  coder: str | None = typer.Option(None, help="Who will review (recorded in the workbook)."),
                  lang: str = typer.Option("es", callback=lang_option, help="Labels and headers: es or en."),
                  undecided: bool = typer.Option(True, help="Only suggestions this coder has not decided yet."),
                  order: str = typer.Option("document", "--order", help="Rows in reading order (document), best "
                                            "score first (score), or what teaches the learned coder most first: "
                                            "uncertain and varied (learn)."),
                  document: list[str] | None = typer.Option(None, "--document", "-d",
                                                               help="Only this document's suggestions (repeat for "
                                                                    "more)."),
                  overwrite: bool = OVERWRITE) -> None:
    """Write a review workbook of the stored suggestions (drop-downs, filters, hidden integrity columns).

    An existing workbook (perhaps already filled in) is never replaced: the
    command stops and says so; give another name, or --overwrite on purpose.

    Examples:

        qualcode review export study.qualcode revision_ana.xlsx --coder ana

        qualcode review export study.qualcode revision_ana.xlsx --coder ana --overwrite

        qualcode review export study.qualcode revision_d02.xlsx -d int_d02_final -d int_d05_final
    """

    check_outputs({"the workbook": out}, {"the project": project})
    p = Project.open(project, read_only=True)  # only reads: works on a read-only share
    suggestions = p.suggestions
    if suggestions.empty:  # an empty workbook would only take the name a real one needs later
        _fail(QualcodeError(f"{project}: no suggestions to review yet; run: qualcode suggest {project}"), 2)
    if document:
        suggestions = suggestions[suggestions["segment_id"].isin(_segments_of_documents(p, project, document))]
        if suggestions.empty:
            shown_docs = " ".join(f"-d {shlex.quote(d)}" for d in dict.fromkeys(document))
            _fail(QualcodeError(f"{project}: no suggestions stored for {' '.join(map(repr, document))}; run: "
                                f"qualcode suggest {shlex.quote(str(project))} {shown_docs}"), 2)
    if undecided and coder:
        suggestions = not_decided(p, suggestions, coder)
    if order not in QUEUE_ORDERS:
        raise ParameterError(f"--order must be one of {', '.join(QUEUE_ORDERS)}, got {order!r}.")
    n = export_review_sheet(p, suggestions, out, lang=lang, coder=coder, overwrite=overwrite, order=order)
    say(f"wrote {out}: {n} rows to review")
    replaced = llm_replaced(p, suggestions, out)
    if replaced is not None:
        say(f"fill only {out}: it holds all of the round's suggestions, the LLM's included, and replaces {replaced} "
            f"(written when the LLM failed): discard {replaced}")


@review_app.command("apply")
@command
def review_apply(project: Path = typer.Argument(..., help="Project file."),
                 sheet: Path = typer.Argument(..., help="Reviewed workbook."),
                 coder: str | None = typer.Option(None, help="Who reviewed (default: as exported).")) -> None:
    """Apply a reviewed workbook: append what changed; refuse rows whose text changed since the export.

    Applying the same workbook again changes nothing. "otro código" takes a code label or id. A row the
    coder decided again after the export (another workbook, the notebook) is "stale": the later decision is
    kept. Exit code 1 when some rows or cells could not be taken (each is listed; the rest is applied); 2 when
    nothing is applied (the workbook is another project's, unreadable, or has no coder).

    Example:

        qualcode review apply study.qualcode revision_ana.xlsx
    """

    p = Project.open(project)
    try:
        before = coded_quotes(p)
        report = apply_review(p, read_review_sheet(sheet), coder=coder)
        changes = decision_changes(before, coded_quotes(p))
    except QualcodeError as exc:
        if getattr(exc, "parameter", None) == "coder":  # the library's hint names a Python argument
            _fail(QualcodeError(f"{sheet}: the workbook was exported without a coder, so say who made these "
                                f"decisions; give the coder: qualcode review apply {project} {sheet} --coder ana"), 2)
        _fail(exc, 2)  # a refused workbook is refused whole: nothing was applied
    counts = report["outcome"].value_counts().to_dict()
    say(", ".join(f"{v} {k}" for k, v in counts.items()))
    first = changes["codes_first_seen"]
    say(f"codes coded for the first time: {len(first)}{' (' + ', '.join(first) + ')' if first else ''}; "
        f"saturation: {changes['saturation_before']} → {changes['saturation_after']}")
    told = report["outcome"].isin(["refused", "partial", "stale"]) | \
        (report["outcome"].eq("applied") & report["message"].ne(""))
    for row in report[told].itertuples():
        say(f"  row {row.row}: {row.message}", fg="yellow")
    if counts.get("refused") or counts.get("partial") or counts.get("stale"):
        raise typer.Exit(PARTLY_DONE)


@app.command("report")
@command
@showing_warnings
def report_cmd(project: Path = typer.Argument(..., help="Project file."),
               out: Path = typer.Argument(..., help="Report workbook to write (.xlsx)."),
               lang: str = typer.Option("es", callback=lang_option, help="Labels: es or en."),
               by: list[str] | None = typer.Option(None, "--by", help="An attribute column (or role) to tabulate "
                                                   "codes by; repeat for several (default: the roles role, site, "
                                                   "stage and round that the study has)."),
               order: str | None = typer.Option(None, "--order", help="Attribute column (or role) that orders the "
                                                "interviews for saturation (default: the date role)."),
               qdpx: Path | None = typer.Option(None, help="Also write a REFI-QDA .qdpx here."),
               descriptions: str = typer.Option("yaml", "--descriptions", callback=description_option,
                                                help="With --qdpx: " + DESCRIPTIONS_HELP),
               qdpx_for: str | None = typer.Option(None, "--qdpx-for", help="With --qdpx: the tool it is for: "
                                                   "qualcoder writes participant-level values on each document "
                                                   "only, so QualCoder users can filter documents by them."),
               csv: Path | None = typer.Option(None, help="Also write every table as CSV into this folder."),
               sep: str | None = typer.Option(None, "--sep", help="CSV separator: ';' (with decimal commas, as "
                                              "Excel reads it with Spanish settings; the default with --lang es), "
                                              "',' (the default with --lang en) or 'tab'."),
               pseudonymize: Path | None = typer.Option(None, help="A text file of names to replace (one per line), "
                                                                       "in every output of this command; detected "
                                                                       "names are replaced too."),
               mapping: Path | None = typer.Option(None, help="With --pseudonymize: write the name → pseudonym "
                                                                  "table here (it holds the real names: keep it "
                                                                  "apart from the outputs)."),
               overwrite: bool = OVERWRITE) -> None:
    """Write the report workbook (quotes, frequencies, saturation, codebook, charts), and optionally CSV and .qdpx.

    If any of the files exists (the workbook, the .qdpx, a CSV of the same
    table, the mapping), nothing is written and the command says which; give
    other names, or --overwrite to replace them.

    With --pseudonymize, every output (workbook, CSV, .qdpx, the lines printed)
    is written from a pseudonymized copy of the project: no listed or
    detected name in any case or accent, in texts, speakers, document ids,
    attributes or memos. The name → pseudonym table is written only with
    --mapping.

    Examples:

        qualcode report study.qualcode informe.xlsx --qdpx estudio.qdpx --csv tablas/

        qualcode report study.qualcode informe.xlsx --qdpx estudio.qdpx --descriptions plain --lang en

        qualcode report study.qualcode informe.xlsx --qdpx para_qualcoder.qdpx --qdpx-for qualcoder

        qualcode report study.qualcode informe.xlsx --csv tablas/ --overwrite

        qualcode report study.qualcode report.xlsx --lang en --csv tables/ --sep ';'

        qualcode report study.qualcode informe.xlsx --pseudonymize nombres.txt --mapping ../privado/mapeo.csv
    """


    if mapping is not None and pseudonymize is None:
        _fail(QualcodeError("--mapping needs --pseudonymize (the names file)"), 2)
    if qdpx_for is not None and qdpx_for.lower() not in FOR_TOOLS:
        raise typer.BadParameter(f"the only tool is {', '.join(FOR_TOOLS)}, got {qdpx_for!r}.",
                                 param_hint="'--qdpx-for'")
    separator = {"tab": "\t", "\\t": "\t"}.get(sep, sep) if sep is not None else (";" if lang == "es" else ",")
    if separator not in CSV_SEPARATORS:
        _fail(QualcodeError(f"--sep {sep!r}: use ';', ',' or 'tab'"), 2)
    check_outputs({"the report workbook": out, "--qdpx": qdpx, "--mapping": mapping, "--csv": csv},
                  {"the project": project, "--pseudonymize": pseudonymize})
    if out.suffix.lower() != ".xlsx":  # Excel refuses to open a workbook whose name says it is something else
        _fail(QualcodeError(f"{out}: the report is an Excel workbook; give a name ending in .xlsx "
                            f"(e.g. {out.with_suffix('.xlsx').name})"), 2)
    names = Pseudonymizer.from_file(pseudonymize) if pseudonymize else None
    p = Project.open(project, read_only=True)  # only reads: works on a read-only share
    try:
        check_writable([out, *([qdpx] if qdpx else []), *([mapping] if mapping else [])], overwrite=overwrite)
        with (names.project(p) if names is not None else nullcontext(p)) as source:
            # The workbook is made in memory first: if a CSV would be refused, nothing at all is written.
            workbook = io.BytesIO()
            with reporting(out, "an .xlsx workbook"):
                tables = export_report(source, workbook, lang=lang, by=by or DEFAULT_BY,
                                       order=order or DEFAULT_ORDER)
            if csv:
                files = table_files(tables, csv)
                check_outputs({"the report workbook": out, "--qdpx": qdpx, "--mapping": mapping,
                               **{f"--csv ({f.name})": f for f in files}}, {"the project": project})
                check_writable(files, overwrite=overwrite)
            atomic_write_bytes(out, workbook.getvalue(), overwrite=overwrite)
            say(f"wrote {out} ({len(tables)} tables)")
            if csv:
                written = export_tables(tables, csv, overwrite=overwrite, sep=separator)
                say(f"wrote {len(written)} CSV files to {csv}")
            if qdpx:
                export_refi_qda(source, qdpx, lang=lang, description=descriptions, overwrite=overwrite,
                                for_tool=qdpx_for.lower() if qdpx_for else None)
                say(f"wrote {qdpx}")
        if names is not None:
            n, listed, detected = names.counts()
            kept = "" if mapping else "; the name → pseudonym table is not written (--mapping FILE writes it)"
            say(f"pseudonymized every output: {n} name{'s' if n != 1 else ''} replaced ({listed} listed, "
                f"{detected} detected){kept}")
            if mapping is not None:
                names.save_mapping(mapping, overwrite=overwrite)
                say(f"wrote the name → pseudonym table to {mapping}")
                outputs = [o for o in (out, qdpx) if o is not None]
                beside = any(mapping.resolve().parent == o.resolve().parent for o in outputs) or \
                    (csv is not None and csv.resolve() in mapping.resolve().parents)
                if beside:
                    say(f"warning: {mapping} holds the real names and sits next to the outputs; keep it "
                        "apart from what you share.", fg="yellow", err=True)
    except QualcodeError:
        raise  # the command boundary says it (exit 2)
    except Exception as exc:  # the workbook's XML, written by openpyxl into temporary files first
        failure = write_failure(out, exc)
        if failure is None:
            raise
        _fail(failure)


@app.command("saturation")
@command
def saturation_cmd(project: Path = typer.Argument(..., help="Project file."),
                   order: str | None = typer.Option(None, help="Attribute column or role that orders the interviews "
                                                                  "(default: the date role, e.g. Fecha, when the "
                                                                  "interviews have one; dates are read as dates)."),
                   by: str | None = typer.Option(None, help="'dimension', an attribute column or a role "
                                                            "(round, stage, site …)."),
                   method: str = typer.Option("guest", help="guest or francis."),
                   lang: str = typer.Option("en", help="Language of the verdict: es or en.",
                                            callback=lang_option)) -> None:
    """Print the saturation verdict of the coded quotes, and the order it used.

    Example:

        qualcode saturation study.qualcode --by dimension
    """

    p = Project.open(project, read_only=True)  # only reads: works on a read-only share
    quotes = coded_quotes(p)
    if quotes.empty:
        _fail(QualcodeError("no coded quotes yet: accept some suggestions first"))
    roles = p.roles()
    attributes = roles.attributes
    for option, value in (("--order", order), ("--by", by)):
        if value is not None and value != "dimension" and (roles.get(value) or value) not in quotes.columns:
            named = ", ".join(f"{r} ({c})" for r, c in roles.columns.items())
            default = " (by date when there is one, else in the order they were added)" if option == "--order" else ""
            _fail(ParameterError(f"{option} {value!r}: the interviews have no such attribute; give one of "
                                 f"{', '.join(attributes) or '(none: the attributes sheet gives them)'}"
                                 f"{'; roles: ' + named if named else ''}, or leave {option} out{default}."), 2)
    column = (roles.get(order) or order) if order is not None else roles.get("date")
    group = (roles.get(by) or by) if by is not None else None
    table = saturation(quotes, order=column if column in quotes.columns else None, by=group,
                       method=method, lang=lang)  # type: ignore[arg-type]  # the user's text; saturation() refuses others
    with pd.option_context("display.width", 160, "display.max_colwidth", 80):
        columns = ["group", "method", "parameters", "n_documents", "n_codes", "notation"]
        order_word = header("order", lang)
        say(f"{order_word}: {table['order'].iloc[0]}" if len(table) else f"{order_word}: -")
        shown_table = table[columns].assign(
            group=table["group"].replace({"all": say_word("verdict.all", lang)}),
            method=table["method"].map(lambda m: say_word(f"value.method.{m}", lang)))
        say(shown(shown_table.rename(columns=headers(columns, lang))).to_string(index=False), lines=True)
