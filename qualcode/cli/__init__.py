"""The ``qualcode`` command line: thin Typer wrappers over the public functions.

Errors are caught once, here: a :class:`~qualcode.errors.QualcodeError`
becomes a message on stderr and exit code 1; usage errors exit with 2.
Exit code 1 also means "some inputs failed, the rest was done".
"""

from __future__ import annotations

import sys

import typer

from ..errors import QualcodeError

# Importing the command modules registers their commands on ``app``.
from . import codebook, corpus, demo, study  # noqa: F401
from .app import app

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the command line; ``argv`` defaults to ``sys.argv[1:]``."""
    try:
        app(args=argv, standalone_mode=True)
    except QualcodeError as exc:  # pragma: no cover - commands catch their own
        typer.secho(f"error: {exc}", err=True, fg="red")
        sys.exit(1)
