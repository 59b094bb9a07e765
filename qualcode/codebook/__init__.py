"""The deductive codebook: load, validate, convert.

``load_codebook`` reads YAML (``.yaml``/``.yml``), spreadsheets (``.xlsx``,
``.csv``) and REFI-QDA codebooks (``.qdc``) by suffix, or a shipped codebook
by name (``"collaboration"``, ``"leadership"``, ``"improvement_science"``,
``"nic_study"``). ``save_codebook`` writes the same formats.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from ..errors import CodebookError, ParameterError
from .changes import codebook_changes
from .model import Code, Codebook
from .qdc import check_description_form, read_qdc, validate_qdc, write_qdc
from .sheet import read_sheet_codebook, write_sheet_codebook
from .taguette import write_taguette_csv
from .validate import language_gaps, warn_language_gaps
from .yaml import read_yaml_codebook, write_yaml_codebook

__all__ = [
    "Code",
    "Codebook",
    "codebook_changes",
    "language_gaps",
    "load_codebook",
    "save_codebook",
    "shipped_codebooks",
    "validate_qdc",
    "warn_language_gaps",
]

_READERS = {".yaml": read_yaml_codebook, ".yml": read_yaml_codebook, ".xlsx": read_sheet_codebook,
            ".xlsm": read_sheet_codebook, ".csv": read_sheet_codebook, ".qdc": read_qdc}


def _shipped_dirs() -> list[Path]:
    here = Path(__file__).resolve().parents[1]
    return [here / "codebooks", here.parent / "codebooks"]


def shipped_codebooks() -> dict[str, Path]:
    """The codebooks that come with qualcode: name → path."""
    found: dict[str, Path] = {}
    for folder in _shipped_dirs():
        if folder.is_dir():
            for path in sorted(folder.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return found


def load_codebook(path: str | Path, *, include_root: str | Path | None = None) -> Codebook:
    """Load a codebook from a file (by suffix) or a shipped one by name.

    Parameters
    ----------
    path : str or Path
        ``.yaml``/``.yml``, ``.xlsx``/``.csv`` (one row per code), ``.qdc``
        (REFI-QDA), or the name of a shipped codebook.
    include_root : str or Path, optional
        For a YAML codebook: a folder its ``include:`` entries may reach anywhere under. By default
        each file includes only files in its own folder and below it.

    Returns
    -------
    Codebook

    Raises
    ------
    CodebookError
        With every problem listed in ``.issues`` (code, field, line or row).

    Examples
    --------
    >>> cb = load_codebook("collaboration")
    >>> cb.dimensions, "collaboration.building_blocks.trust" in cb
    (['collaboration'], True)
    """
    candidate = Path(path)
    if not candidate.exists() and candidate.suffix == "" and str(path) in shipped_codebooks():
        candidate = shipped_codebooks()[str(path)]
    reader = _READERS.get(candidate.suffix.lower())
    if reader is None:
        raise ParameterError(
            f"{path}: codebooks are read from {sorted(_READERS)} files, or by the name of a shipped codebook "
            f"({sorted(shipped_codebooks())}).")
    if not candidate.exists():
        raise CodebookError(f"{candidate}: no such codebook file.", path=candidate)
    if reader is read_yaml_codebook:
        return read_yaml_codebook(candidate, include_root=include_root)
    return reader(candidate)


def save_codebook(codebook: Codebook, target: str | Path | IO, *, format: str | None = None,
                  lang: str = "es", description: str = "yaml", overwrite: bool = False) -> None:
    """Write a codebook as YAML, ``.xlsx``, ``.qdc`` or a Taguette CSV (by suffix or ``format``); atomic for paths.

    ``lang`` chooses the code names in a ``.qdc`` or Taguette CSV (the other tools show one label);
    ``description`` (``"yaml"`` or ``"plain"``) the form of the codes' descriptions in a ``.qdc``
    (:func:`qualcode.codebook.qdc.code_description`; both read back exactly). ``format="taguette"``
    writes the CSV Taguette imports (:mod:`qualcode.codebook.taguette`); a ``.csv`` target without
    it is refused, since qualcode's own spreadsheet layout is ``.xlsx``.
    An existing file (perhaps a codebook someone edited) is replaced only with
    ``overwrite=True``; otherwise :class:`~qualcode.errors.OutputExistsError`.
    """
    kind = (format or Path(str(getattr(target, "name", target))).suffix.lstrip(".")).lower()
    check_description_form(description)
    if kind in ("yaml", "yml"):
        write_yaml_codebook(codebook, target, overwrite=overwrite)
    elif kind in ("xlsx", "sheet"):
        write_sheet_codebook(codebook, target, overwrite=overwrite)
    elif kind == "qdc":
        write_qdc(codebook, target, lang=lang, description=description, overwrite=overwrite)
    elif kind == "taguette":
        write_taguette_csv(codebook, target, lang=lang, overwrite=overwrite)
    else:
        hint = " (a CSV for Taguette: format='taguette')" if kind == "csv" else ""
        raise ParameterError(f"save_codebook writes yaml, xlsx, qdc or taguette; got {kind!r}{hint}.")
