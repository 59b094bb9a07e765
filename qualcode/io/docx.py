"""Word transcripts (``.docx``) through python-docx.

Paragraphs (and table rows, in document order) become lines of the document
text, separated by blank lines; speaker labels are then found exactly as in
plain-text transcripts, so ``**Moderadora:**`` in bold and ``E:`` in plain
text both work.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import ProtectedFileError, TranscriptFormatError
from .encoding import normalize_text

__all__ = ["read_docx_text", "check_office_container"]

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def check_office_container(path: Path, kind: str) -> None:
    """Refuse old binary Office files and encrypted ones with a message saying what to do.

    ``kind`` is ``"Word"`` or ``"Excel"``. Encrypted OOXML files are stored in
    an OLE container with an ``EncryptedPackage`` stream, the same container
    old ``.doc``/``.xls`` files use; the stream name tells them apart.
    """
    with open(path, "rb") as handle:
        head = handle.read(8)
        if head != _OLE:
            return
        data = handle.read(4 * 1024 * 1024)
    if "EncryptedPackage".encode("utf-16-le") in data:
        raise ProtectedFileError(
            f"{path}: the {kind} file is password-protected. Open it in {kind}, remove the password "
            "(File > Info > Protect), save it, and load it again.",
            path=path,
        )
    old = ".doc" if kind == "Word" else ".xls"
    new = ".docx" if kind == "Word" else ".xlsx"
    raise TranscriptFormatError(
        f"{path}: this is an old binary {kind} file ({old}), not {new}. Open it in {kind} or "
        f"LibreOffice and use Save As > {new}.",
        path=path,
    )


def read_docx_text(path: str | Path) -> str:
    """Return the normalised text of a Word file, one paragraph per block.

    Raises
    ------
    TranscriptFormatError
        If the file is truncated, corrupt, or an old ``.doc`` renamed ``.docx``.
    ProtectedFileError
        If the file is password-protected.
    """
    path = Path(path)
    check_office_container(path, "Word")
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as exc:  # pragma: no cover - python-docx is a core dependency
        from ..errors import MissingDependencyError

        raise MissingDependencyError("Reading .docx needs python-docx: pip install python-docx") from exc
    try:
        document = docx.Document(str(path))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if hasattr(item, "rows"):
                for row in item.rows:
                    cells = [cell.text.strip() for cell in row.cells]
                    # Merged cells repeat their text across the row.
                    unique = [c for i, c in enumerate(cells) if c and (i == 0 or c != cells[i - 1])]
                    if len(unique) >= 2 and len(unique[0]) <= 48 and ":" not in unique[0]:
                        blocks.append(f"{unique[0]}: {' '.join(unique[1:])}")
                    elif unique:
                        blocks.append(" ".join(unique))
            else:
                blocks.append(item.text)
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, OSError, EOFError) as exc:
        raise TranscriptFormatError(
            f"{path}: the Word file is damaged or incomplete ({type(exc).__name__}: {exc}). "
            "Open it in Word or LibreOffice, save a new copy as .docx, and load that.",
            path=path,
        ) from None
    except Exception as exc:  # lxml and zipfile raise many kinds on corrupt input
        raise TranscriptFormatError(
            f"{path}: the Word file could not be read ({type(exc).__name__}: {exc}). "
            "Open it in Word or LibreOffice, save a new copy as .docx, and load that.",
            path=path,
        ) from None
    return normalize_text("\n\n".join(block.strip("\n") for block in blocks if block.strip()))
