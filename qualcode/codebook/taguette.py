"""Taguette codebook exchange: Taguette imports a codebook only as CSV, so qualcode writes one it reads.

Taguette's codebook import (``taguette/import_codebook.py``) takes a CSV whose
header holds exactly one of ``tag``, ``name`` or ``path`` (the tag), and
optionally ``parent`` and ``description``; Taguette's own codebook export
writes ``tag, parent, description, number of highlights``. qualcode writes
``tag, parent, description``, one row per code, parents before children:

* ``tag``: the code's path of labels (in ``lang``, the other language or the
  id when a label is empty) joined by ``.``, Taguette's hierarchy
  separator: ``Colaboración.Confianza``. Two sibling codes with one label get
  their id added (``Otro (collaboration.other)``), since Taguette's tags are unique;
* ``parent``: the parent's ``tag`` (empty for a dimension);
* ``description``: the code in plain words (definition, criteria, examples,
  keywords; :func:`~qualcode.codebook.qdc.code_description` ``"plain"``).

Every field goes through :func:`qualcode.io.cells.csv_frame` (formula-like
text is neutralised, characters XML forbids are replaced and reported).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pandas as pd

from ..io.atomic import atomic_write_text
from ..io.cells import csv_frame, reporting
from ..schemas import check_lang, returns
from .model import LANGS, Codebook
from .qdc import code_description

__all__ = ["TAGUETTE_COLUMNS", "taguette_frame", "write_taguette_csv"]

TAGUETTE_COLUMNS = ("tag", "parent", "description")


@returns("taguette_codebook")
def taguette_frame(codebook: Codebook, *, lang: str = "es") -> pd.DataFrame:
    """The codebook as Taguette's codebook table, one row per code, parents before children.

    Returns
    -------
    DataFrame
        {columns}

    Examples
    --------
    >>> from qualcode.codebook.model import Code
    >>> book = Codebook("x", codes=[Code("a", label={"es": "Colaboración"}),
    ...                             Code("a.b", label={"es": "Confianza", "en": "Trust"})])
    >>> taguette_frame(book)[["tag", "parent"]].values.tolist()
    [['Colaboración', ''], ['Colaboración.Confianza', 'Colaboración']]
    """
    check_lang(lang)
    other = next(x for x in LANGS if x != lang)
    paths: dict[str, str] = {}
    used: set[str] = set()
    rows = []
    for code in codebook:
        label = code.label[lang] or code.label[other] or code.id
        parent = paths.get(code.parent_id, "") if code.parent_id else ""
        path = f"{parent}.{label}" if parent else label
        if path in used:
            path = f"{path} ({code.id})"
        used.add(path)
        paths[code.id] = path
        rows.append((path, parent, code_description(code, "plain", lang=lang)))
    return pd.DataFrame(rows, columns=list(TAGUETTE_COLUMNS), dtype="string")


def write_taguette_csv(codebook: Codebook, target: str | Path | IO[bytes], *, lang: str = "es",
                       overwrite: bool = False) -> None:
    """Write the codebook as a CSV file Taguette imports (UTF-8; see :func:`taguette_frame`).

    Atomic for paths, with the mode the umask gives; an existing file is replaced only with ``overwrite``.
    """
    with reporting(target, "a Taguette codebook (.csv)"):
        name = Path(str(getattr(target, "name", target))).name
        text = csv_frame(taguette_frame(codebook, lang=lang), name).to_csv(index=False, lineterminator="\n")
    if isinstance(target, (str, Path)):
        atomic_write_text(target, text, overwrite=overwrite)
    else:
        target.write(text.encode("utf-8"))
