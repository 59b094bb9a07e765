"""``qualcode codebook validate|convert|show|set``: check, convert codebooks and give a project a new version."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from ..codebook import Codebook, codebook_changes, load_codebook, save_codebook
from ..coders import method_support
from ..errors import CodebookError, ProjectError
from ..io.atomic import check_outputs
from ..project import Project
from ..review.decisions import decisions
from ..schemas import coded
from .app import PARTLY_DONE, app, command, lang_option, say
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
    frame = codebook.to_frame()
    say(f"{path}: valid. {len(codebook)} codes in {len(codebook.dimensions)} dimension(s) "
        f"({', '.join(codebook.dimensions)}); depth up to {int(frame['depth'].max())}; "
        f"version {codebook.version}.")
    support = method_support(codebook)
    usable = [name for name, reason in support.items() if reason is None]
    say(f"suggestion methods (qualcode suggest --methods): {', '.join(usable) or 'none'}"
        + "".join(f"; not {name}: {reason}" for name, reason in support.items() if reason is not None) + ".")
    if "embedding" in usable and not any(any(c.examples.values()) for c in codebook):
        say("note: no code has example quotes: embedding scores are calibrated on labels and definitions only; "
            "a few examples per code make them better.")


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
            target: Path = typer.Argument(..., help="File to write: .yaml, .xlsx or .qdc."),
            lang: str = typer.Option("es", callback=lang_option, help="Code names in a .qdc: es or en."),
            overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file (by default an "
                                                                     "existing codebook is never replaced).")) -> None:
    """Convert a codebook between YAML, spreadsheet and REFI-QDA .qdc.

    An existing target (perhaps a codebook someone edited) is never replaced
    unless --overwrite is given.

    Examples:

        qualcode codebook convert nic_study nic_study.qdc --lang en

        qualcode codebook convert codebooks/leadership.yaml leadership.xlsx

        qualcode codebook convert leadership.xlsx codebooks/leadership.yaml --overwrite
    """

    if Path(source).exists():
        check_outputs({"the target": target}, {"the source": source})
    save_codebook(_load(source), target, lang=lang, overwrite=overwrite)
    say(f"wrote {target}")


_CHANGE_WORDS = {"added": "added", "removed": "removed", "renamed": "renamed", "relabelled": "relabelled",
                 "redefined": "redefined (definition or criteria)", "keywords": "new keywords or examples"}


@codebook_app.command("set")
@command
def set_codebook(project: Path = typer.Argument(..., help="Project file (e.g. study.qualcode)."),
                 path: str = typer.Argument(..., help="The new codebook version (file or shipped name)."),
                 dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; change nothing.")
                 ) -> None:
    """Make a new codebook version the project's current one, and say what changed.

    Lists the codes added, removed, renamed (same label or definition under a
    new id), relabelled and redefined, and how many coded segments each
    removed or renamed code has. Decisions are never deleted: those on a
    removed or renamed code stay in the project's log under the old id and
    are listed under it in reports; the earlier version stays stored and
    `qualcode codebook set` with the old file makes it current again.

    Examples:

        qualcode codebook set study.qualcode nic_study_v2.yaml --dry-run

        qualcode codebook set study.qualcode nic_study_v2.yaml
    """
    new = _load(path)
    with Project.open(project) as opened:  # a missing project: the command boundary says "qualcode init"
        try:
            old = opened.codebook()
        except ProjectError:
            old = Codebook(new.id, codes=[])
        changes = codebook_changes(old, new)
        current = coded(decisions(opened))
        per_code = current.groupby("code_id")["segment_id"].nunique().to_dict()
        if old.version == new.version:
            say(f"{project}: {path} is the current codebook already (version {new.version}); nothing to change.")
            return
        if not dry_run:
            opened.add_codebook(new)
    verb = "would change" if dry_run else "changed"
    say(f"{project}: codebook {old.version or '(none)'} → {new.version} ({len(new)} codes); "
        f"{len(changes)} code(s) {verb}.")
    for change, rows in changes.groupby("change", sort=False):
        say(f"  {_CHANGE_WORDS[str(change)]}: {len(rows)}")
        for row in rows.itertuples(index=False):
            if change == "added":
                say(f"    + {row.code_id}  {row.new_label}")
            elif change == "removed":
                n = per_code.get(row.old_code_id, 0)
                say(f"    - {row.old_code_id}  {row.old_label}  ({n} coded segment(s) kept under this id)")
            elif change == "renamed":
                n = per_code.get(row.old_code_id, 0)
                say(f"    {row.old_code_id} → {row.code_id}  {row.new_label}  "
                           f"({n} coded segment(s) kept under the old id)")
            else:
                say(f"    ~ {row.code_id}  {row.old_label} → {row.new_label}" if change == "relabelled"
                           else f"    ~ {row.code_id}  {row.new_label}")
    kept = sum(per_code.get(r, 0) for r in changes.loc[changes["change"].isin(["removed", "renamed"]), "old_code_id"])
    if kept:
        say(f"{kept} coded segment(s) are on codes this version removes or renames: their decisions stay in "
                   "the project (nothing is deleted) and reports list them under the old code id. To code them "
                   "under the new codes, review them again (qualcode suggest, qualcode review).")
    if dry_run:
        say("Nothing was changed (--dry-run).")
