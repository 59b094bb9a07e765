"""``qualcode codebook validate|convert|show``: check and convert codebooks."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer

from ..codebook import Codebook, load_codebook, save_codebook
from ..errors import CodebookError, OutputExistsError, QualcodeError
from ..io.atomic import check_outputs
from .app import app, lang_option, say
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
def validate(path: str = typer.Argument(..., help="Codebook file (.yaml, .xlsx, .csv, .qdc) or shipped name.")) -> None:
    """Check a codebook and list every problem with its line or row.

    Example:

        qualcode codebook validate codebooks/collaboration.yaml
    """
    try:
        codebook = _load(path)
    except CodebookError as exc:
        say(str(exc), err=True, fg="red", lines=True)
        raise typer.Exit(1) from None
    except QualcodeError as exc:
        say(f"error: {exc}", err=True, fg="red", lines=True)
        raise typer.Exit(1) from None
    frame = codebook.to_frame()
    say(f"{path}: valid. {len(codebook)} codes in {len(codebook.dimensions)} dimension(s) "
        f"({', '.join(codebook.dimensions)}); depth up to {int(frame['depth'].max())}; "
        f"version {codebook.version}.")


@codebook_app.command("show")
def show(path: str = typer.Argument(..., help="Codebook file or shipped name."),
         lang: str = typer.Option("es", callback=lang_option, help="Label language: es or en.")) -> None:
    """Print the code tree with labels.

    Example:

        qualcode codebook show nic_study --lang en
    """
    try:
        codebook = _load(path)
    except QualcodeError as exc:
        say(str(exc), err=True, fg="red", lines=True)
        raise typer.Exit(1) from None
    for code in codebook:
        say(f"{'  ' * code.depth}{code.id}  {code.label.get(lang) or ''}")


@codebook_app.command("convert")
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

    try:
        if Path(source).exists():
            check_outputs({"the target": target}, {"the source": source})
        save_codebook(_load(source), target, lang=lang, overwrite=overwrite)
    except QualcodeError as exc:
        say(f"error: {getattr(exc, 'cli_message', None) or exc}", err=True, fg="red", lines=True)
        raise typer.Exit(2 if isinstance(exc, OutputExistsError) else 1) from None
    say(f"wrote {target}")
