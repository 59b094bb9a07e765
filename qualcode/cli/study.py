"""Project commands: init, add, suggest, review export/apply, report, saturation, and the demo."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import List, Optional

import pandas as pd
import typer

from ..errors import NoSpeakerLabelsWarning, QualcodeError
from . import app
from .corpus import INTERVIEWER, SPEAKERS

review_app = typer.Typer(help="Review suggestions in a spreadsheet: export a workbook, apply it back.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")


WORKERS = typer.Option(1, "--workers", "-w", min=1, help="Spread the work over this many local processes "
                                                         "(results identical to one).")
SCHEDULER = typer.Option(None, "--scheduler", metavar="ADDRESS",
                         help="Run the work on this Dask scheduler (tcp://host:8786; pip install 'qualcode[dask]'). "
                              "Workers must see the transcript files at the same paths.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")


def _methods(spec: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in spec.split(",") if m.strip())


def _fail(exc: Exception, code: int = 1) -> None:
    typer.secho(f"error: {exc}", err=True, fg="red")
    raise typer.Exit(code)


def _open(path: Path):  # type: ignore[no-untyped-def]
    from ..project import Project

    try:
        return Project.open(path)
    except QualcodeError as exc:
        _fail(exc, 2)


@app.command("init")
def init(project: Path = typer.Argument(..., help="Project file to create (e.g. study.qualcode)."),
         codebook: str = typer.Option("nic_study", "--codebook", "-c", help="Codebook file or shipped name.")) -> None:
    """Create a project file with a codebook.

    Example:

        qualcode init study.qualcode --codebook codebooks/collaboration.yaml
    """
    from ..codebook import load_codebook
    from ..project import Project

    try:
        book = load_codebook(codebook)
        with Project.create(project) as p:
            version = p.add_codebook(book)
    except QualcodeError as exc:
        _fail(exc, 2)
    typer.echo(f"created {project} with codebook {book.id} ({len(book)} codes, version {version})")


@app.command("add")
def add(project: Path = typer.Argument(..., help="Project file."),
        paths: List[str] = typer.Argument(..., help="Transcript files, folders or globs."),
        attributes: Optional[Path] = typer.Option(None, "--attributes", "-a", help="Attributes sheet (CSV/XLSX)."),
        unit: str = typer.Option("turn", help="Segment unit: turn, paragraph or sentence."),
        workers: int = WORKERS, scheduler: Optional[str] = SCHEDULER, quiet: bool = QUIET,
        speakers: Optional[List[str]] = SPEAKERS, interviewer: Optional[List[str]] = INTERVIEWER) -> None:
    """Add (or update) transcripts; unchanged files are skipped, decisions re-anchor to corrected text.

    Exit code 1 when some files could not be read (each is listed; the rest are added).

    Example:

        qualcode add study.qualcode data_samples/transcripts --attributes data_samples/attributes.csv
    """
    from ..batch import count_actions
    from ..io import load_corpus

    p = _open(project)
    try:
        with warnings.catch_warnings():  # the rows printed below say it, with the remedy
            warnings.simplefilter("ignore", NoSpeakerLabelsWarning)
            corpus, report = load_corpus(paths, attributes=attributes, unit=unit, workers=workers,  # type: ignore[arg-type]
                                         scheduler=scheduler, progress=not quiet,
                                         speakers=speakers or (), interviewer=interviewer or ())
        result = p.add_corpus(corpus)
    except QualcodeError as exc:
        _fail(exc, 2)
    typer.echo(f"{count_actions(result)}; {int(result['n_reanchored'].sum())} decisions re-anchored, "
               f"{int(result['n_orphaned'].sum())} orphaned")
    for row in report[report["status"] != "ok"].itertuples():
        typer.secho(f"  [{row.status}] {row.message}", fg="red" if row.status == "error" else "yellow")
    if report.n_errors:
        raise typer.Exit(1)


@app.command("suggest")
def suggest_cmd(project: Path = typer.Argument(..., help="Project file."),
                top_k: int = typer.Option(3, "--top-k", help="At most this many codes per segment."),
                min_score: float = typer.Option(0.4, "--min-score", help="Drop suggestions below this score."),
                methods: str = typer.Option("keyword,embedding", help="Zero-shot methods, comma-separated."),
                learn: Optional[bool] = typer.Option(None, "--learn/--no-learn",
                                                     help="Learn from decisions (default: when there are some)."),
                document: Optional[List[str]] = typer.Option(None, "--document", "-d",
                                                             help="Only this document (repeat for more)."),
                workers: int = WORKERS, scheduler: Optional[str] = SCHEDULER, quiet: bool = QUIET) -> None:
    """Suggest codes for participant segments and store them in the project (replacing earlier ones).

    Embeddings of texts seen before come from the project's cache, so a re-run
    encodes only what is new.

    Examples:

        qualcode suggest study.qualcode --top-k 3 --min-score 0.4

        qualcode suggest study.qualcode --workers 2 -d int_d02_final -d int_d05_final

        qualcode suggest study.qualcode --scheduler tcp://10.0.0.5:8786
    """
    from ..coders import suggest

    p = _open(project)
    try:
        out = suggest(p, methods=_methods(methods), top_k=top_k,
                      min_score=min_score, learn=learn, documents=document or None, workers=workers,
                      scheduler=scheduler, progress=not quiet)
    except QualcodeError as exc:
        _fail(exc)
    typer.echo(f"{len(out)} suggestions for {out['segment_id'].nunique() if len(out) else 0} segments "
               f"({', '.join(f'{k} {v}' for k, v in out['method'].value_counts().items()) if len(out) else 'none'})")


@app.command("round")
def round_cmd(project: Path = typer.Argument(..., help="Project file (created with 'qualcode init')."),
              paths: List[str] = typer.Argument(..., help="The round's transcript files, folders or globs."),
              attributes: Optional[Path] = typer.Option(None, "--attributes", "-a", help="Attributes sheet (CSV/XLSX)."),
              out: Path = typer.Option(Path("."), "--out", "-o", help="Folder for the review and report workbooks."),
              coder: Optional[str] = typer.Option(None, help="Who will review: leaves out what they already decided."),
              lang: str = typer.Option("es", help="Workbook language: es or en."),
              name: Optional[str] = typer.Option(None, help="Round name in file names (default: its 'round' attribute)."),
              report: bool = typer.Option(True, "--report/--no-report", help="Also write the report workbook."),
              unit: str = typer.Option("turn", help="Segment unit: turn, paragraph or sentence."),
              methods: str = typer.Option("keyword,embedding", help="Zero-shot methods, comma-separated."),
              workers: int = WORKERS, scheduler: Optional[str] = SCHEDULER, quiet: bool = QUIET,
              speakers: Optional[List[str]] = SPEAKERS, interviewer: Optional[List[str]] = INTERVIEWER) -> None:
    """Add a round of interviews, suggest codes for what is new, write the review and report workbooks.

    Unchanged files are skipped; only new and changed documents are suggested
    (cached embeddings are reused); decisions are never touched. Files that
    cannot be read are listed and the rest of the round goes on (exit code 1).
    Apply the reviewed workbook with 'qualcode review apply'.

    Examples:

        qualcode round study.qualcode entrevistas/ronda2 -a atributos.csv --out ronda2 --coder ana

        qualcode round study.qualcode "nacional/**/*.docx" -a atributos.xlsx --out nacional --workers 8

        qualcode round study.qualcode nacional/ -a atributos.xlsx --scheduler tcp://10.0.0.5:8786
    """
    from ..batch import run_round

    p = _open(project)
    try:
        with warnings.catch_warnings():  # the rows printed below say it, with the remedy
            warnings.simplefilter("ignore", NoSpeakerLabelsWarning)
            result = run_round(p, paths, attributes=attributes, unit=unit, out=out, coder=coder, lang=lang, name=name,
                               report=report, methods=_methods(methods),
                               workers=workers, scheduler=scheduler, progress=not quiet,
                               speakers=speakers or (), interviewer=interviewer or ())
    except QualcodeError as exc:
        _fail(exc, 2)
    failed = result.load_report[result.load_report["status"] != "ok"]
    for row in failed.itertuples():
        typer.secho(f"  [{row.status}] {row.message}", fg="red" if row.status == "error" else "yellow", err=True)
    for line in result.summary():
        typer.echo(line)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@review_app.command("export")
def review_export(project: Path = typer.Argument(..., help="Project file."),
                  out: Path = typer.Argument(..., help="Workbook to write (.xlsx)."),
                  coder: Optional[str] = typer.Option(None, help="Who will review (recorded in the workbook)."),
                  lang: str = typer.Option("es", help="Labels and headers: es or en."),
                  undecided: bool = typer.Option(True, help="Only suggestions this coder has not decided yet.")) -> None:
    """Write a review workbook of the stored suggestions (drop-downs, filters, hidden integrity columns).

    Example:

        qualcode review export study.qualcode revision_ana.xlsx --coder ana
    """
    from ..review import export_review_sheet
    from ..review.decisions import undecided as not_decided

    p = _open(project)
    suggestions = p.suggestions
    if undecided and coder:
        suggestions = not_decided(p, suggestions, coder)
    try:
        n = export_review_sheet(p, suggestions, out, lang=lang, coder=coder)
    except QualcodeError as exc:
        _fail(exc)
    typer.echo(f"wrote {out}: {n} rows to review")


@review_app.command("apply")
def review_apply(project: Path = typer.Argument(..., help="Project file."),
                 sheet: Path = typer.Argument(..., help="Reviewed workbook."),
                 coder: Optional[str] = typer.Option(None, help="Who reviewed (default: as exported).")) -> None:
    """Apply a reviewed workbook: append its decisions; refuse rows whose text changed since the export.

    Example:

        qualcode review apply study.qualcode revision_ana.xlsx
    """
    from ..batch import decision_changes
    from ..review import apply_review, coded_quotes, read_review_sheet

    p = _open(project)
    try:
        before = coded_quotes(p)
        report = apply_review(p, read_review_sheet(sheet), coder=coder)
        changes = decision_changes(before, coded_quotes(p))
    except QualcodeError as exc:
        _fail(exc)
    counts = report["outcome"].value_counts().to_dict()
    typer.echo(", ".join(f"{v} {k}" for k, v in counts.items()))
    first = changes["codes_first_seen"]
    typer.echo(f"codes coded for the first time: {len(first)}{' (' + ', '.join(first) + ')' if first else ''}; "
               f"saturation: {changes['saturation_before']} → {changes['saturation_after']}")
    for row in report[report["outcome"] == "refused"].itertuples():
        typer.secho(f"  row {row.row}: {row.message}", fg="yellow")
    if counts.get("refused"):
        raise typer.Exit(1)


@app.command("report")
def report_cmd(project: Path = typer.Argument(..., help="Project file."),
               out: Path = typer.Argument(..., help="Report workbook to write (.xlsx)."),
               lang: str = typer.Option("es", help="Labels: es or en."),
               qdpx: Optional[Path] = typer.Option(None, help="Also write a REFI-QDA .qdpx here."),
               csv: Optional[Path] = typer.Option(None, help="Also write every table as CSV into this folder."),
               pseudonymize: Optional[Path] = typer.Option(None, help="A text file of names to replace (one per line); "
                                                                       "detected names are replaced too.")) -> None:
    """Write the report workbook (quotes, frequencies, saturation, codebook, charts), and optionally CSV and .qdpx.

    Example:

        qualcode report study.qualcode informe.xlsx --qdpx estudio.qdpx --csv tablas/
    """
    from ..export import Pseudonymizer, export_refi_qda, export_report, export_tables

    p = _open(project)
    try:
        names = Pseudonymizer([n.strip() for n in pseudonymize.read_text(encoding="utf-8").splitlines() if n.strip()]) \
            if pseudonymize else None
        tables = export_report(p, out, lang=lang, pseudonymizer=names)
        typer.echo(f"wrote {out} ({len(tables)} tables)")
        if csv:
            written = export_tables(tables, csv)
            typer.echo(f"wrote {len(written)} CSV files to {csv}")
        if qdpx:
            export_refi_qda(p, qdpx, lang=lang)
            typer.echo(f"wrote {qdpx}")
    except QualcodeError as exc:
        _fail(exc)


@app.command("saturation")
def saturation_cmd(project: Path = typer.Argument(..., help="Project file."),
                   order: str = typer.Option("date", help="Attribute that orders the interviews."),
                   by: Optional[str] = typer.Option(None, help="'dimension' or an attribute (round, district …)."),
                   method: str = typer.Option("guest", help="guest or francis.")) -> None:
    """Print the saturation verdict of the coded quotes.

    Example:

        qualcode saturation study.qualcode --by dimension
    """
    from ..analysis import saturation
    from ..review import coded_quotes

    p = _open(project)
    quotes = coded_quotes(p)
    if quotes.empty:
        _fail(QualcodeError("no coded quotes yet: accept some suggestions first"))
    try:
        table = saturation(quotes, order=order if order in quotes.columns else None, by=by, method=method)  # type: ignore[arg-type]
    except QualcodeError as exc:
        _fail(exc, 2)
    with pd.option_context("display.width", 160, "display.max_colwidth", 80):
        typer.echo(table[["group", "method", "parameters", "n_documents", "n_codes", "notation"]].to_string(index=False))
