"""The ``qualcode`` command line: thin Typer wrappers over the public functions.

Errors are caught once, here: a :class:`~qualcode.errors.QualcodeError`
becomes a message on stderr and exit code 1; usage errors exit with 2.
Exit code 1 also means "some inputs failed, the rest was done".
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import typer

from ..errors import QualcodeError

__all__ = ["app", "main"]

app = typer.Typer(
    name="qualcode",
    help="Qualitative analysis of interview transcripts (Spanish and English).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., object])


def _register() -> None:
    from . import codebook, corpus, demo, study  # noqa: F401  (registers the commands on ``app``)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; ``argv`` defaults to ``sys.argv[1:]``."""
    _register()
    try:
        app(args=argv, standalone_mode=True)
    except QualcodeError as exc:  # pragma: no cover - commands catch their own
        typer.secho(f"error: {exc}", err=True, fg="red")
        sys.exit(1)


@app.callback()
def _root() -> None:
    """Qualitative analysis of interview transcripts (Spanish and English)."""
