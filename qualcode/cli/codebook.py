"""``qualcode codebook validate|convert|show|set``: check, convert codebooks and give a project a new version."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from ..codebook import Codebook, load_codebook, save_codebook
from ..codebook.validate import content_note, describe
from ..coders import method_support
from ..errors import CodebookError, ProjectError, printable
from ..io.atomic import check_outputs
from ..project import Project
from ..workflow import set_codebook as workflow_set_codebook
from .app import DESCRIPTIONS_HELP, PARTLY_DONE, app, command, description_option, lang_option, say
from .study import showing_warnings

codebook_app = typer.Typer(help="Check, show and convert codebooks (YAML, spreadsheet, REFI-QDA .qdc).",
                           no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")


def _load(path: str) -> Codebook:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        codebook = load_codebook(path)
    for warning in caught:
        say(f"warning: {warning.message}", err=True, fg="yellow", lines=True)
    return codebook


@codebook_app.command("validate")
@command
def validate(path: str = typer.Argument(..., help="Codebook file (.yaml, .xlsx, .csv, .qdc) or shipped name.")) -> None:
    """Check a codebook and list every problem with its line or row.

    Example:

        qualcode codebook validate codebooks/collaboration.yaml
    """
    try:
        codebook = _load(path)
    except CodebookError as exc:  # what validate is for: the problems found, exit 1 (a file it cannot read: 2)
        say(str(exc), err=True, fg="red", lines=True)
        raise typer.Exit(PARTLY_DONE) from None
    say(f"{path}: valid. {describe(codebook)}; version {codebook.version}.")
    support = method_support(codebook)
    usable = [name for name, reason in support.items() if reason is None]
    say(f"suggestion methods (qualcode suggest --methods): {', '.join(usable) or 'none'}"
        + "".join(f"; not {name}: {reason}" for name, reason in support.items() if reason is not None) + ".")
    note = content_note(codebook) if "embedding" in usable else None
    if note is not None:
        say(f"note: {note}")


@codebook_app.command("show")
@command
def show(path: str = typer.Argument(..., help="Codebook file or shipped name."),
         lang: str = typer.Option("es", callback=lang_option, help="Label language: es or en.")) -> None:
    """Print the code tree with labels.

    Example:

        qualcode codebook show nic_study --lang en
    """
    codebook = _load(path)
    for code in codebook:
        say(f"{'  ' * code.depth}{code.id}  {code.label.get(lang) or ''}")


@codebook_app.command("convert")
@command
@showing_warnings
def convert(source: str = typer.Argument(..., help="Codebook to read (file or shipped name)."),
            target: Path = typer.Argument(..., help="File to write: .yaml, .xlsx, .qdc, or .csv with --for taguette."),
            lang: str = typer.Option("es", callback=lang_option, help="Code names in a .qdc or Taguette CSV: es or "
                                                                      "en."),
            descriptions: str = typer.Option("yaml", "--descriptions", callback=description_option,
                                             help="In a .qdc: " + DESCRIPTIONS_HELP),
            for_tool: str | None = typer.Option(None, "--for", help="The tool the file is for: taguette (a CSV "
                                                                   "Taguette imports: tag, parent, description)."),
            overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file (by default an "
                                                                     "existing codebook is never replaced).")) -> None:
    """Convert a codebook between YAML, spreadsheet and REFI-QDA .qdc, or write it for Taguette.

    An existing target (perhaps a codebook someone edited) is never replaced
    unless --overwrite is given.

    Examples:

        qualcode codebook convert nic_study nic_study.qdc --lang en

        qualcode codebook convert nic_study nic_study.qdc --descriptions plain

        qualcode codebook convert nic_study nic_study.csv --for taguette

        qualcode codebook convert codebooks/leadership.yaml leadership.xlsx

        qualcode codebook convert leadership.xlsx codebooks/leadership.yaml --overwrite
    """

    if for_tool is not None and for_tool.lower() != "taguette":
        raise typer.BadParameter(f"the only tool is taguette, got {printable(for_tool)!r}.", param_hint="'--for'")
    if for_tool is not None and target.suffix.lower() != ".csv":
        raise typer.BadParameter(f"{target}: Taguette's codebook is a CSV file; give a name ending in .csv "
                                 f"(e.g. {target.with_suffix('.csv').name}).", param_hint="TARGET")
    if for_tool is None and target.suffix.lower() == ".csv":
        raise typer.BadParameter(f"{target} is a .csv: give --for taguette for Taguette's codebook CSV, or "
                                 "write .xlsx for qualcode's own spreadsheet.", param_hint="TARGET")
    if Path(source).exists():
        check_outputs({"the target": target}, {"the source": source})
    save_codebook(_load(source), target, format="taguette" if for_tool else None, lang=lang,
                  description=descriptions, overwrite=overwrite)
    say(f"wrote {target}")


_CHANGE_WORDS = {"added": "added", "removed": "removed", "renamed": "renamed", "relabelled": "relabelled",
                 "redefined": "redefined (definition or criteria)", "keywords": "new keywords or examples"}


@codebook_app.command("set")
@command
def set_codebook(project: Path = typer.Argument(..., help="Project file (e.g. study.qualcode)."),
                 path: str = typer.Argument(..., help="The new codebook version (file or shipped name)."),
                 dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; change nothing."),
                 carry: bool = typer.Option(True, "--carry/--no-carry",
                                            help="Move the decisions of renamed codes to their new id (default).")
                 ) -> None:
    """Make a new codebook version the project's current one, and say what changed.

    Lists the codes added, removed, renamed (same label or definition under a
    new id), relabelled and redefined, and how many coded segments each
    removed or renamed code has. The decisions of a renamed code move to its
    new id (appended as new decisions; --no-carry leaves them under the old
    id). Decisions are never deleted: those on a removed code stay in the
    project's log under the old id and are listed under it in reports; the
    earlier version stays stored and `qualcode codebook set` with the old
    file makes it current again.

    Examples:

        qualcode codebook set study.qualcode nic_study_v2.yaml --dry-run

        qualcode codebook set study.qualcode nic_study_v2.yaml
    """
    new = _load(path)
    with Project.open(project) as opened:  # a missing project: the command boundary says "qualcode init"
        try:
            old_version = opened.codebook().version
        except ProjectError:
            old_version = ""
        if old_version == new.version:
            say(f"{project}: {path} is the current codebook already (version {new.version}); nothing to change.")
            return
        changes = workflow_set_codebook(opened, new, carry_renamed=carry, source="cli", dry_run=dry_run)
    verb = "would change" if dry_run else "changed"
    say(f"{project}: codebook {old_version or '(none)'} → {new.version} ({len(new)} codes); "
        f"{len(changes)} code(s) {verb}.")
    for change, rows in changes.groupby("change", sort=False):
        say(f"  {_CHANGE_WORDS[str(change)]}: {len(rows)}")
        for row in rows.itertuples(index=False):
            if change == "added":
                say(f"    + {row.code_id}  {row.new_label}")
            elif change == "removed":
                say(f"    - {row.old_code_id}  {row.old_label}  ({row.coded_segments} coded segment(s) kept under "
                    "this id)")
            elif change == "renamed":
                if dry_run:
                    where = "would move to the new id" if carry else "would stay under the old id"
                elif carry:
                    where = f"{row.carried} decision(s) moved to the new id"
                else:
                    where = "kept under the old id"
                say(f"    {row.old_code_id} → {row.code_id}  {row.new_label}  ({row.coded_segments} coded "
                    f"segment(s); {where})")
            else:
                say(f"    ~ {row.code_id}  {row.old_label} → {row.new_label}" if change == "relabelled"
                    else f"    ~ {row.code_id}  {row.new_label}")
    kinds = ["removed"] if carry else ["removed", "renamed"]
    kept = int(changes.loc[changes["change"].isin(kinds), "coded_segments"].sum())
    if kept:
        say(f"{kept} coded segment(s) are on codes this version removes{'' if carry else ' or renames'}: their "
            "decisions stay in the project (nothing is deleted) and reports list them under the old code id. To "
            "code them under the new codes, review them again (qualcode suggest, qualcode review).")
    if carry and (changes["change"] == "renamed").any() and not dry_run:
        say("Renamed codes: each moved decision is a new decision on the new id, and a reject (memo 'moved to …') "
            "ends the one on the old id; the history keeps both (qualcode codebook set with the old file and the "
            "same option moves them back).")
    if dry_run:
        say("Nothing was changed (--dry-run).")
