"""The ``qualcode`` Typer application that every command module registers its commands on."""

from __future__ import annotations

import pandas as pd
import typer

from ..errors import printable
from ..schemas import LANGS

__all__ = ["app", "lang_option", "say", "shown"]

app = typer.Typer(
    name="qualcode",
    help="Qualitative analysis of interview transcripts (Spanish and English).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Qualitative analysis of interview transcripts (Spanish and English)."""


def say(message: object, *, err: bool = False, fg: str | None = None, lines: bool = False) -> None:
    """Print one message of a command: every line the CLI prints goes through here.

    What qualcode prints carries data (file names, document ids, cell values): control characters are
    escaped (:func:`~qualcode.errors.printable`), so a ``\\r`` in a file name cannot rewrite an ``[error]``
    line, nor an ESC sequence drive the terminal. Newlines are escaped too (one report row, one line) unless
    ``lines`` says the message is several lines of qualcode's own (an error's list of problems, a table).
    """
    typer.secho(printable(message, newlines=lines), err=err, fg=fg)


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text cells and column names escaped, for ``to_string``: one row stays one line."""
    escaped = frame.rename(columns=lambda c: printable(c) if isinstance(c, str) else c)
    return escaped.apply(lambda column: column.map(lambda v: printable(v) if isinstance(v, str) else v)
                         if column.dtype == object else column)


def lang_option(value: str | None) -> str | None:
    """Typer callback of every language option (``--lang``, ``--language``): a usage error (exit 2) before any work.

    One check for every command, so a mistyped language is refused the same way everywhere, before a round
    adds documents or a report is computed.
    """
    if value is not None and value not in LANGS:
        raise typer.BadParameter(f"must be {' or '.join(LANGS)}, got {printable(value)!r}.")
    return value
