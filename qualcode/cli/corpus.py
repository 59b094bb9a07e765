"""``qualcode load``: read transcripts and print what was loaded."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import typer

from ..errors import NoSpeakerLabelsWarning, QualcodeError
from ..io import load_corpus
from .app import app

SPEAKERS = typer.Option(None, "--speakers", metavar="LABEL",
                        help="A speaker label qualcode does not recognise on its own (repeat for more), "
                             "e.g. --speakers 'Marta Rojas' --speakers 'SPEAKER_00'.")
INTERVIEWER = typer.Option(None, "--interviewer", metavar="LABEL",
                           help="The interviewer's label in the files (repeat for more), e.g. --interviewer "
                                "'Hablante 1'. Default: a role word (Entrevistadora, Moderadora, E:), else "
                                "the speaker who asks most questions; each file's row says who and why.")


@app.command("load")
def load(
    paths: list[str] = typer.Argument(..., help="Transcript files, folders or glob patterns."),
    attributes: Path | None = typer.Option(None, "--attributes", "-a", help="Participant attributes sheet (CSV/XLSX)."),
    unit: str = typer.Option("turn", help="Segment unit: turn, paragraph or sentence."),
    language: str | None = typer.Option(None, help="Force es or en (default: detect per document)."),
    speakers: list[str] | None = SPEAKERS,
    interviewer: list[str] | None = INTERVIEWER,
) -> None:
    """Load transcripts and print a summary per document and any problems.

    Example:

        qualcode load data_samples/transcripts --attributes data_samples/attributes.csv

        qualcode load entrevistas/ --interviewer "Hablante 1" --speakers "SPEAKER_00"
    """
    try:
        with warnings.catch_warnings():
            # Each file's row below says it, with the remedy; no second, bare copy on stderr.
            warnings.simplefilter("ignore", NoSpeakerLabelsWarning)
            corpus, report = load_corpus(paths, attributes=attributes, unit=unit, language=language,  # type: ignore[arg-type]
                                         speakers=speakers or (), interviewer=interviewer or ())
    except QualcodeError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    summary = corpus.summary()
    keep = [c for c in ["doc_id", "format", "language", "n_turns", "n_segments", "n_words", "n_speakers",
                        "role", "district", "stage", "round"] if c in summary.columns]
    with pd.option_context("display.max_rows", 200, "display.width", 160, "display.max_columns", 20):
        typer.echo(summary[keep].to_string(index=False))
    typer.echo("")
    typer.echo(f"{corpus!r}")
    by_role = corpus.segments["speaker_role"].value_counts().to_dict()
    typer.echo("segments by speaker role: " + ", ".join(f"{k} {v}" for k, v in sorted(by_role.items())))
    files = report[report["doc_id"].notna() & (report["status"] == "ok")]
    if len(files):
        typer.echo("")
        typer.echo("speakers and interviewer per file:")
        for row in files.itertuples():
            typer.echo(f"  {row.message}")
    problems = report[report["status"] != "ok"]
    if len(problems):
        typer.echo("")
        typer.echo(f"{report.n_errors} file(s) failed, {len(problems) - report.n_errors} warning(s):")
        for row in problems.itertuples():
            colour = "red" if row.status == "error" else "yellow"
            typer.secho(f"  [{row.status}] {row.message}", fg=colour)
    if report.n_errors:
        raise typer.Exit(1)
