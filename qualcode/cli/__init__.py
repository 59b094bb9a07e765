"""The ``qualcode`` command line: thin Typer wrappers over the public functions.

Errors are caught once, here: a :class:`~qualcode.errors.QualcodeError`
becomes a message on stderr and exit code 1; usage errors exit with 2.
Exit code 1 also means "some inputs failed, the rest was done".
"""

from __future__ import annotations

import sys

from ..errors import QualcodeError
from ..io.atomic import write_failure

# Importing the command modules registers their commands on ``app``.
from . import codebook, corpus, demo, evaluate, exchange, study  # noqa: F401
from .app import app, say

__all__ = ["app", "main"]


def _quiet_write_failures(unraisable: sys.UnraisableHookArgs) -> None:
    # openpyxl's writer, dropped after a refused write, raises the same error again while it is collected: the
    # command already said what happened, once.
    if unraisable.exc_value is not None and write_failure("", unraisable.exc_value) is not None:
        return
    sys.__unraisablehook__(unraisable)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; ``argv`` defaults to ``sys.argv[1:]``."""
    sys.unraisablehook = _quiet_write_failures
    try:
        app(args=argv, standalone_mode=True)
    except QualcodeError as exc:  # pragma: no cover - commands catch their own
        say(f"error: {exc}", err=True, fg="red", lines=True)
        sys.exit(1)
    except Exception as exc:
        # A write the file system refused where no writer caught it (a library's own temporary files): a
        # message, not a traceback. Writes of qualcode's own are atomic, so nothing half-written is left.
        failure = write_failure(getattr(exc, "filename", None) or "a temporary file", exc)
        if failure is None:
            raise
        say(f"error: {failure}", err=True, fg="red", lines=True)
        sys.exit(1)
