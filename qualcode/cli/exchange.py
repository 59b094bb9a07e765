"""``qualcode import``: a project from another tool's REFI-QDA ``.qdpx`` (ATLAS.ti, NVivo, MAXQDA, QualCoder …)."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from ..errors import QualcodeWarning
from ..export.refi_import import POSITION_UNITS, REPORTED
from ..review.decisions import coded_quotes
from ..schemas import UNITS
from ..workflow import import_refi_qda, import_report, imported_notes
from .app import DONE, PARTLY_DONE, app, choice_option, command, say, shown

__all__ = ["import_cmd"]


@app.command("import")
@command
def import_cmd(source: Path = typer.Argument(..., help="The .qdpx file another tool exported."),
               project: Path = typer.Argument(..., help="Project file to create (e.g. study.qualcode); must not "
                                                        "exist."),
               positions: str = typer.Option("auto", "--positions", metavar="auto|utf16|codepoints",
                                             callback=choice_option(POSITION_UNITS),
                                             help="How the file counts text positions. auto (default): as the "
                                                  "tool that wrote it does (NVivo counts UTF-16 code units, so "
                                                  "an emoji counts 2; QualCoder and qualcode code points), "
                                                  "measured when the tool is not known. Give utf16 or codepoints "
                                                  "when the report says the reading was guessed wrong."),
               unit: str = typer.Option("turn", "--unit", metavar="turn|paragraph|sentence",
                                        callback=choice_option(UNITS),
                                        help="How documents are cut into segments (default: speaker turns).")
               ) -> None:
    """Create a project from a REFI-QDA project (.qdpx): documents, codes, codings, coders, memos, variables.

    Prints what was imported, then the import report: every kind of thing the file holds that was not taken as
    it was (non-text sources, Sets, Links, memos kept as notes, positions converted or guessed …), how many,
    and why. Exit 0 when everything was imported, 1 when the report lists something not imported, 2 when
    nothing was (a damaged file, a project whose sources are all missing, an existing project file).

    Examples:

        qualcode import nvivo_export.qdpx estudio.qualcode

        qualcode import atlas.qdpx estudio.qualcode --positions utf16
    """
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always", QualcodeWarning)
        made = import_refi_qda(source, project, unit=unit, position_units=positions)
    report, notes = import_report(made), imported_notes(made)
    quotes = coded_quotes(made)
    n_codes = made.query("SELECT COUNT(*) FROM codes")[0][0]
    say(f"imported {source} into {project}: {len(made.documents)} document(s), "
        f"{n_codes} code(s), {len(quotes)} coding(s) by "
        f"{quotes['coder'].nunique()} coder(s), {int(quotes['memo'].notna().sum())} coding memo(s), "
        f"{len(notes)} note(s)")
    for warning in recorded:
        # The one warning that sums up the report is not repeated: the report is printed below.
        if issubclass(warning.category, QualcodeWarning) and REPORTED not in str(warning.message):
            say(f"warning: {warning.message}", err=True, fg="yellow", lines=True)
    if report.empty:
        say("import report: everything in the file was imported as it was.")
        raise typer.Exit(DONE)
    say("import report (what, how many, outcome, why, where):")
    say(shown(report).to_string(index=False), lines=True)
    lost = report[report["outcome"] == "not imported"]
    if len(lost):
        say(f"{int(lost['count'].sum())} item(s) of {len(lost)} kind(s) were not imported (listed above); the rest "
            "was. Notes: qc.imported_notes(project) in Python.", fg="yellow")
        raise typer.Exit(PARTLY_DONE)
    raise typer.Exit(DONE)
