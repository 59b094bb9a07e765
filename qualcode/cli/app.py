"""The ``qualcode`` Typer application that every command module registers its commands on, and its one error boundary.

Exit codes (the README's table; ``tests/cli/test_exit_codes.py`` has one test per row):

===  ===========================================================================================================
0    done
1    done in part: some inputs failed or some rows were refused, each listed, the rest done; ``codebook
     validate``: the codebook has problems
2    nothing done: a usage error (an unknown option value, a column that does not exist), a missing or
     unreadable project or file, an output that exists, no input readable, a refused workbook — any
     qualcode error that reaches the boundary
130  interrupted (Ctrl-C): nothing half-written; run the same command again to finish it
===  ===========================================================================================================
"""

from __future__ import annotations

import ast
import functools
import re
import shlex
from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

import pandas as pd
import typer

from ..codebook.qdc import DESCRIPTION_FORMATS
from ..errors import QualcodeError, printable
from ..schemas import LANGS

__all__ = ["DONE", "INTERRUPTED", "NOTHING_DONE", "PARTLY_DONE", "QUIET", "app", "command", "in_cli_words",
           "lang_option", "say", "shown"]

DONE, PARTLY_DONE, NOTHING_DONE, INTERRUPTED = 0, 1, 2, 130

# One --quiet for every command that shows progress (suggest, round, evaluate).
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bars.")

P = ParamSpec("P")
R = TypeVar("R")

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


def choice_option(choices: Sequence[str]) -> Callable[[str], str]:
    """A Typer callback that takes only ``choices``: anything else is a usage error (exit 2) before any work.

    Examples
    --------
    >>> choice_option(("turn", "sentence"))("turn")
    'turn'
    """

    def check(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(f"must be {' or '.join(choices)}, got {printable(value)!r}.")
        return value

    return check


#: Typer callback of ``--descriptions``: ``yaml`` or ``plain``.
description_option = choice_option(DESCRIPTION_FORMATS)


DESCRIPTIONS_HELP = ("How each code's definition, criteria, examples and keywords are written for the other tool: "
                     "yaml (a compact block) or plain (readable prose, --lang first); qualcode reads both back.")


def _columns(found: re.Match) -> str:
    """``survey=SurveyColumns(id='x', text=['a', 'b'])`` → ``--survey-id x --survey-text a --survey-text b``."""
    try:
        ident, texts = ast.literal_eval(found["id"]), ast.literal_eval(f"[{found['text']}]")
    except (ValueError, SyntaxError):  # ``id=..., text=[...]``: no column named yet
        return "--survey-id COLUMN --survey-text COLUMN"
    if not isinstance(ident, str) or not texts or not all(isinstance(t, str) for t in texts):
        return "--survey-id COLUMN --survey-text COLUMN"
    return " ".join([f"--survey-id {shlex.quote(ident)}", *(f"--survey-text {shlex.quote(t)}" for t in texts)])


# The loaders' remedies name Python parameters; each has a command-line option of the same effect.
_CLI_WORDS: list[tuple[re.Pattern[str], str | object]] = [
    (re.compile(r"survey=(?:qc\.)?SurveyColumns\(id=(?P<id>.*?), text=\[(?P<text>.*?)\]\)"), _columns),
    (re.compile(r"\battributes=\.\.\."), "--attributes FILE"),
    (re.compile(r"\bdoc_id=(['\"])(\w+)\1"), r"--doc-id \2"),
    (re.compile(r"\b(speakers|interviewer)=\[[^\]]*\] \(command line: ([^)]*)\)"), r"\2"),
    (re.compile(r"\b(speakers|interviewer)=\[[^\]]*\] / (--\1)"), r"\2"),
    # "(timeout= / --llm-timeout)": the Python parameter, then its option.
    (re.compile(r"\b[a-z_]+= / (--[a-z][\w-]*)"), r"\1"),
]


def in_cli_words(message: str) -> str:
    """A load report's or an error's message with its Python remedies in command-line words.

    Examples
    --------
    >>> in_cli_words("load with doc_id='path' to keep both")
    'load with --doc-id path to keep both'
    >>> in_cli_words("load it with survey=SurveyColumns(id='ticket', text=['q1', 'q 2'])")
    "load it with --survey-id ticket --survey-text q1 --survey-text 'q 2'"
    >>> in_cli_words("name them: speakers=['Name', ...] (command line: --speakers 'Name')")
    "name them: --speakers 'Name'"
    >>> in_cli_words("give it more time (timeout= / --llm-timeout)")
    'give it more time (--llm-timeout)'
    """
    for pattern, words in _CLI_WORDS:
        message = pattern.sub(words, message)  # type: ignore[arg-type]  # a replacement text or function
    return message


def command(function: Callable[P, R]) -> Callable[P, R]:
    """The one error boundary of every command: a qualcode error is one ``error:`` line in command-line words
    and exit 2 (nothing done), Ctrl-C is exit 130 with how to finish; never a Python traceback for either.

    Commands that finish with some inputs failed exit 1 themselves (``raise typer.Exit(PARTLY_DONE)``).
    """
    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except QualcodeError as exc:
            say(f"error: {getattr(exc, 'cli_message', None) or in_cli_words(str(exc))}", err=True, fg="red",
                lines=True)
            raise typer.Exit(NOTHING_DONE) from None
        except KeyboardInterrupt:
            say("interrupted: what was saved is whole; run the same command again to finish it.", err=True,
                fg="yellow")
            raise typer.Exit(INTERRUPTED) from None

    return wrapper
