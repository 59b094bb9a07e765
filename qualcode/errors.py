"""The qualcode exception hierarchy.

Every error qualcode raises derives from :class:`QualcodeError` and from the
builtin it refines, so ``except ValueError`` in user code keeps working.
Messages say what failed, where (file and line, row or code id) and what to
do next.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = [
    "AttributesError",
    "AttributesWarning",
    "BinaryFileError",
    "CodebookError",
    "CodebookWarning",
    "DuplicateDocumentError",
    "EmptyDocumentError",
    "EncodingError",
    "ExchangeFileError",
    "InputFileError",
    "LLMContextError",
    "LLMError",
    "LLMInterrupted",
    "LLMModelError",
    "LLMSkippedWarning",
    "LLMTimeoutError",
    "LLMUnavailableError",
    "LLMWarning",
    "MissingDependencyError",
    "NoSpeakerLabelsWarning",
    "OutputExistsError",
    "OutputWriteError",
    "ParameterError",
    "ProjectError",
    "ProtectedFileError",
    "QualcodeError",
    "QualcodeWarning",
    "ReplacedCharactersWarning",
    "ReviewSheetError",
    "SchedulerError",
    "SubtitleFormatError",
    "TranscriptFormatError",
    "UnsupportedFormatError",
    "printable",
    "where",
]

# What a terminal or a log viewer obeys instead of showing: C0 controls (CR rewrites the line, ESC starts a
# sequence, BEL rings), DEL, C1 controls (0x9b is CSI on some terminals), and the invisible Unicode marks that
# reorder or break what is shown (bidi overrides and isolates, line and paragraph separators).
_CONTROLS = r"\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
_UNPRINTABLE = re.compile(f"[{_CONTROLS}]")
_UNPRINTABLE_LINES = re.compile(f"[\\n{_CONTROLS}]")


def printable(text: object, *, newlines: bool = False) -> str:
    """``text`` with every character a terminal would obey written as an escape (``\\r``, ``\\x1b``, ``\\u202e``).

    The one escaping function for what qualcode shows from data (file names, document and code ids, cell
    values): every command-line line, every error and warning message. A carriage return in a file name
    can no longer rewrite an ``[error]`` line, nor an ESC sequence retitle or recolour the terminal.
    Tabs are kept; newlines are kept only with ``newlines=True`` (for a message of several lines).

    Examples
    --------
    >>> printable("in/x\\r[ok] all loaded.txt")
    'in/x\\\\r[ok] all loaded.txt'
    >>> printable("t\\x1b]0;title\\x07.txt")
    't\\\\x1b]0;title\\\\x07.txt'
    >>> printable("two\\nlines"), printable("two\\nlines", newlines=True)
    ('two\\\\nlines', 'two\\nlines')
    """
    text = str(text)
    pattern = _UNPRINTABLE if newlines else _UNPRINTABLE_LINES
    return pattern.sub(_escape, text)


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    special = {"\n": "\\n", "\r": "\\r"}
    if char in special:
        return special[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def where(path: str | Path | None, line: int | None = None, *, row: int | None = None) -> str:
    """Format a location as ``file:line`` or ``file, row N`` for messages."""
    name = printable(path) if path is not None else "<input>"
    if line is not None:
        return f"{name}:{line}"
    if row is not None:
        return f"{name}, row {row}"
    return name


class QualcodeError(Exception):
    """Base class of every error raised by qualcode.

    Attributes
    ----------
    path : str or None
        The file the error is about, when there is one.
    line : int or None
        1-based line (or spreadsheet row) in ``path``, when known.
    """

    def __init__(self, message: str, *, path: str | Path | None = None,
                 line: int | None = None, **details: Any) -> None:
        super().__init__(message)
        self.path = str(path) if path is not None else None
        self.line = line
        for key, value in details.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        # Messages carry file names and cell values: shown anywhere (a traceback, a log, the CLI), they are escaped.
        return printable(super().__str__(), newlines=True)


class QualcodeWarning(UserWarning):
    """Base class of every warning issued by qualcode."""

    def __str__(self) -> str:
        # Python prints warnings straight to the terminal: file names and values in them are escaped.
        return printable(super().__str__(), newlines=True)


class InputFileError(QualcodeError, ValueError):
    """An input file cannot be read as the kind of file its name promises."""


class EmptyDocumentError(InputFileError):
    """The file is empty or holds only white space."""


class BinaryFileError(InputFileError):
    """A binary file (an image, a PDF, an archive) carries a text extension."""


class EncodingError(InputFileError):
    """The bytes of a text file could not be decoded with confidence."""


class TranscriptFormatError(InputFileError):
    """A transcript's structure is invalid (for example a corrupt Word file)."""


class SubtitleFormatError(TranscriptFormatError):
    """A WebVTT or SRT file is malformed (missing header, bad timestamps, ...)."""


class UnsupportedFormatError(InputFileError):
    """No reader handles this file suffix."""


class ProtectedFileError(InputFileError):
    """The file is password-protected or encrypted and cannot be opened."""


class DuplicateDocumentError(InputFileError):
    """Two input files would get the same document id."""


class AttributesError(QualcodeError, ValueError):
    """The participant-attributes sheet is invalid.

    ``issues`` is a DataFrame (``row``, ``column``, ``problem``) listing every
    problem found, not only the first.
    """


class CodebookError(QualcodeError, ValueError):
    """A codebook is invalid; ``issues`` lists every problem at once."""


class ExchangeFileError(QualcodeError, ValueError):
    """A REFI-QDA exchange file is unsafe or does not follow the schema."""


class ProjectError(QualcodeError, ValueError):
    """A project file cannot be created, opened or used as asked."""


class ReviewSheetError(QualcodeError, ValueError):
    """A review workbook cannot be read; ``issues`` lists the rows it could not take."""


class MissingDependencyError(QualcodeError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class ParameterError(QualcodeError, ValueError):
    """A function argument has an invalid value; the message lists the valid ones."""


class SchedulerError(QualcodeError, RuntimeError):
    """Work could not run where it was sent (a Dask scheduler unreachable, a worker lost)."""


class OutputExistsError(QualcodeError, FileExistsError):
    """A file qualcode would write already exists: it is never replaced unless asked (``overwrite=True``).

    ``path`` is the existing file, ``suggestion`` a free name beside it, and
    ``cli_message`` the same message in command-line words (``--overwrite``).
    """


class OutputWriteError(QualcodeError, OSError):
    """A file could not be written (a full disk, a file-size limit, a read-only folder): nothing of it was left.

    ``reason`` is the system's error name (``ENOSPC``, ``EFBIG``, ``EROFS`` …).
    """


class LLMError(QualcodeError, RuntimeError):
    """The LLM server (``LLMCoder``, ``--llm``) could not give an answer; ``url`` is the endpoint asked."""


class LLMUnavailableError(LLMError, ConnectionError):
    """No server answers at the URL given, or it kept failing (429, 5xx) after the retries.

    ``transient`` is True when the server took the requests but failed each try (a 5xx, a 429, a dropped
    connection): one segment's failure, which the LLM coder skips, not a server that is down.
    """

    transient: bool = False


class LLMModelError(LLMError):
    """The server does not have the model asked for; ``model`` is its name."""


class LLMContextError(LLMError):
    """The prompt (codebook, examples, segment) is longer than the model's context."""


class LLMTimeoutError(LLMError, TimeoutError):
    """The server gave no answer within the timeout."""


class LLMInterrupted(KeyboardInterrupt):
    """Ctrl-C while the LLM coder was asking: no further request was sent, the answers received were kept.

    A :class:`KeyboardInterrupt` (``except KeyboardInterrupt`` still catches it), not a qualcode error: the user
    asked to stop. ``n_kept`` answers of this run were kept (in the project, with one), ``n_asked`` segments
    were to be asked; the same call or command again asks only for the rest.
    """

    def __init__(self, *, n_kept: int = 0, n_asked: int = 0) -> None:
        super().__init__(f"interrupted: {n_kept} of {n_asked} answers kept")
        self.n_kept = n_kept
        self.n_asked = n_asked


class LLMWarning(QualcodeWarning):
    """The LLM coder dropped something (a quote not in the text, an unknown code, an unreadable answer) or failed.

    ``segment_ids``: the segments it got no usable answer for (their stored suggestions are kept).
    """

    def __init__(self, message: str, *, segment_ids: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.segment_ids = segment_ids


class LLMSkippedWarning(LLMWarning):
    """Beside other coders, the LLM server failed: ``n_failed`` of ``n_segments`` segments got no LLM answer.

    The other coders' suggestions arrived; the run says how to ask the LLM again (answers received are kept).
    """

    def __init__(self, message: str, *, n_failed: int = 0, n_segments: int = 0,
                 segment_ids: tuple[str, ...] = ()) -> None:
        super().__init__(message, segment_ids=segment_ids)
        self.n_failed = n_failed
        self.n_segments = n_segments


class NoSpeakerLabelsWarning(QualcodeWarning):
    """A transcript has no speaker labels and was read as a single speaker."""


class AttributesWarning(QualcodeWarning):
    """The attributes sheet and the corpus do not match exactly."""


class ReplacedCharactersWarning(QualcodeWarning):
    """Characters a file format cannot hold were replaced by spaces while writing; ``path``, ``count``, ``places``."""

    def __init__(self, message: str, *, path: str | None = None, count: int = 0,
                 places: list[str] | None = None) -> None:
        super().__init__(message)
        self.path, self.count, self.places = path, count, places or []


class CodebookWarning(QualcodeWarning):
    """A codebook is usable but something in it deserves a look."""
