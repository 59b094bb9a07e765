"""The report: coded quotes and theme frequencies as a formatted workbook, and the same tables as CSV/Parquet.

``report_tables`` computes every table of the report (pure); ``export_excel``
writes tables (and optional charts) to one ``.xlsx``; ``export_tables``
writes them as CSV or Parquet files. :func:`qualcode.workflow.export_report`
does all of it for a project. Every cell is written safely (see :mod:`qualcode.io.cells`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

import pandas as pd

from ..analysis import code_by_attribute, code_frequencies, cooccurrence, first_appearance, saturation
from ..errors import MissingDependencyError, ParameterError
from ..io.atomic import atomic_path, atomic_write_bytes, check_writable
from ..io.cells import csv_frame, put, put_row, reporting, sheet_name
from ..io.paths import path_in
from ..schemas import check_lang
from .pseudonymize import quote_tags

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..codebook import Codebook

__all__ = ["DEFAULT_BY", "export_excel", "export_tables", "report_tables", "table_files"]

_TITLES = {
    "es": {"about": "Léame", "quotes": "Citas", "frequencies": "Frecuencias", "by": "Por", "cooccurrence":
           "Coocurrencia", "saturation": "Saturación", "first": "Primera aparición", "codebook": "Libro de códigos",
           "charts": "Gráficos"},
    "en": {"about": "About", "quotes": "Quotes", "frequencies": "Frequencies", "by": "By", "cooccurrence":
           "Co-occurrence", "saturation": "Saturation", "first": "First appearance", "codebook": "Codebook",
           "charts": "Charts"},
}
# The attributes the report tabulates codes by, when the data have them.
DEFAULT_BY = ("role", "district", "stage", "round")


def report_tables(quotes: pd.DataFrame, codebook: Codebook, *, segments: pd.DataFrame | None = None,
                  lang: str = "es", by: Sequence[str] = DEFAULT_BY,
                  order: str | None = "date") -> dict[str, pd.DataFrame]:
    """Every table of the report, keyed by sheet title (in ``lang``), from coded quotes and the codebook.

    ``quotes`` is a coded-quotes table (:func:`qualcode.coded_quotes`): its
    ``quote_now`` is the report's ``quote`` column (a table with ``quote``
    instead is taken as it is).

    Returns
    -------
    dict of DataFrame
        One quotes table per dimension (``quote``, ``code_id``, ``code``
        label, ``doc_id``, ``speaker``, attributes, ``start``, ``timestamp``,
        ``coder``, ``decision``, ``tag``), frequencies with labels, a code ×
        attribute table per attribute, co-occurrence, first appearance and
        saturation (Guest and Francis, study-wide and per dimension), and the codebook.
    """
    check_lang(lang)
    t = _TITLES[lang]
    labels = {c.id: c.label[lang] or c.label["es" if lang == "en" else "en"] for c in codebook}
    tables: dict[str, pd.DataFrame] = {}
    quotes = quotes.copy()
    if "quote_now" in quotes.columns:  # the report shows the words as they read now, under the header "quote"
        quotes = quotes.drop(columns="quote", errors="ignore").rename(columns={"quote_now": "quote"})
    if {"role", "stage", "participant"} <= set(quotes.columns):
        quotes["tag"] = quote_tags(quotes)
    quotes["code"] = quotes["code_id"].map(labels)
    quotes["dimension"] = quotes["code_id"].str.split(".").str[0]
    attributes = [c for c in ("participant", "pseudonym", "role", "district", "stage", "round", "date")
                  if c in quotes.columns]
    columns = [c for c in ["quote", "code_id", "code", "tag", "doc_id", "speaker", *attributes, "start", "timestamp",
                           "coder", "decision", "memo"] if c in quotes.columns]
    for dimension in codebook.dimensions:
        part = quotes[quotes["dimension"] == dimension].sort_values(["code_id", "doc_id", "start"])
        tables[f"{t['quotes']} – {labels[dimension]}"] = part[columns].reset_index(drop=True)
    freq = code_frequencies(quotes, segments=segments, include_ancestors=True)
    freq.insert(1, "code", freq["code_id"].map(labels))
    tables[t["frequencies"]] = freq
    for attribute in by:
        if attribute in quotes.columns:
            table = code_by_attribute(quotes, attribute)
            wide = table.pivot_table(index="code_id", columns=attribute, values="n", aggfunc="sum", fill_value=0)
            wide.insert(0, "code", wide.index.map(labels))
            tables[f"{t['by']} {attribute}"] = wide.reset_index()
    co = cooccurrence(quotes)
    co.insert(1, "label_a", co["code_a"].map(labels))
    co.insert(3, "label_b", co["code_b"].map(labels))
    tables[t["cooccurrence"]] = co
    ordering = order if order in quotes.columns else None
    first = first_appearance(quotes, order=ordering)
    first["new_codes"] = first["new_codes"].map(lambda codes: "; ".join(labels.get(c, c) for c in codes))
    tables[t["first"]] = first
    results = []
    runs: list[tuple[Literal["guest", "francis"], str | None]] = [
        ("guest", None), ("francis", None), ("guest", "dimension"), ("francis", "dimension")]
    for method, by_group in runs:
        try:
            results.append(saturation(quotes, order=ordering, method=method, by=by_group))
        except ParameterError as exc:  # e.g. no codes yet in the base: say so in the report, do not fail it
            results.append(pd.DataFrame([{"group": by_group or "all", "method": method,
                                          "notation": f"undefined: {exc}"}]))
    tables[t["saturation"]] = pd.concat(results, ignore_index=True)
    book = codebook.to_frame()
    keep = ["code_id", "parent_id", f"label_{lang}", f"definition_{lang}", f"inclusion_{lang}", f"exclusion_{lang}",
            f"keywords_{lang}"]
    tables[t["codebook"]] = book[[c for c in keep if c in book.columns]]
    return tables


def export_excel(tables: Mapping[str, pd.DataFrame], target: str | Path | IO[bytes], *,
                 charts: Mapping[str, Figure] | None = None, about: Mapping[str, object] | None = None,
                 lang: str = "es", overwrite: bool = False) -> list[str]:
    """Write tables (one sheet each) and charts (PNG images on one sheet) to a formatted workbook.

    An existing file at ``target`` is replaced only with ``overwrite=True``
    (otherwise :class:`~qualcode.errors.OutputExistsError`, nothing written).

    Headers are bold on a coloured band; the header row is frozen; filters
    are on; long text wraps; column widths follow the content. Returns the
    sheet names used (made valid and unique).
    """
    if isinstance(target, (str, Path)):
        check_writable([target], overwrite=overwrite)
    with reporting(target, "an .xlsx workbook"):
        return _export_excel(tables, target, charts=charts, about=about, lang=lang, overwrite=overwrite)


def _export_excel(tables: Mapping[str, pd.DataFrame], target: str | Path | IO[bytes], *,
                  charts: Mapping[str, Figure] | None, about: Mapping[str, object] | None, lang: str,
                  overwrite: bool) -> list[str]:
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    t = _TITLES.get(lang, _TITLES["en"])
    book = Workbook()
    used: set[str] = set()
    names = []
    first = True
    if about:
        ws = book.worksheets[0]  # a new workbook holds one sheet, the active one
        ws.title = sheet_name(t["about"], used)
        names.append(ws.title)
        for key, value in about.items():
            row = put_row(ws, [str(key), value if not isinstance(value, (list, dict)) else str(value)])
            ws.cell(row, 1).font = Font(bold=True)
        ws.column_dimensions["A"].width = 28
        ws.column_dimensions["B"].width = 100
        first = False
    header_font, header_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="2F5597")
    for title, frame in tables.items():
        ws = book.worksheets[0] if first else book.create_sheet()
        first = False
        ws.title = sheet_name(title, used)
        names.append(ws.title)
        columns = [str(c) for c in frame.columns]
        for c, name in enumerate(columns, start=1):
            cell = ws.cell(1, c)
            put(cell, name)
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for r, values in enumerate(frame.itertuples(index=False, name=None), start=2):
            for c, value in enumerate(values, start=1):
                put(ws.cell(r, c), value)
        for c, name in enumerate(columns, start=1):
            sample = frame.iloc[:200, c - 1].tolist() if len(frame) else []
            longest = max([len(name)] + [len(str(v)) for v in sample if v is not None])
            wide = longest > 60
            ws.column_dimensions[get_column_letter(c)].width = min(max(10, longest + 2), 70)
            if wide:
                for r in range(2, len(frame) + 2):
                    ws.cell(r, c).alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"
        if len(frame):
            ws.auto_filter.ref = f"A1:{get_column_letter(max(1, len(columns)))}{len(frame) + 1}"
    if charts:
        ws = book.create_sheet()
        ws.title = sheet_name(t["charts"], used)
        names.append(ws.title)
        row = 1
        for title, figure in charts.items():
            put(ws.cell(row, 1), title)
            ws.cell(row, 1).font = Font(bold=True)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=90)
            buffer.seek(0)
            image = Image(buffer)
            ws.add_image(image, f"A{row + 1}")
            row += int(image.height / 20) + 4
    if isinstance(target, (str, Path)):
        with atomic_path(target, overwrite=overwrite) as tmp:
            book.save(tmp)
    else:
        book.save(target)
    return names


def table_files(tables: Mapping[str, pd.DataFrame], folder: str | Path, *, format: str = "csv") -> list[Path]:
    """The files :func:`export_tables` writes for ``tables``: ``<folder>/<title as a file name>.<format>``.

    Examples
    --------
    >>> [p.name for p in table_files({"Por district": pd.DataFrame()}, "tablas")]
    ['por_district.csv']
    """
    folder = Path(folder)
    paths: list[Path] = []
    for title in tables:
        # Titles hold attribute names from the attributes sheet: made file names inside ``folder``.
        path = path_in(folder, str(title).lower(), suffix=f".{format}", fallback="table")
        k = 2
        while path in paths:  # two titles that make the same name: the second table is not lost
            path = path_in(folder, f"{str(title).lower()}-{k}", suffix=f".{format}", fallback="table")
            k += 1
        paths.append(path)
    return paths


def export_tables(tables: Mapping[str, pd.DataFrame], folder: str | Path, *, format: str = "csv",
                  overwrite: bool = False) -> list[Path]:
    """Write each table as ``<folder>/<name>.csv`` (formula-safe, UTF-8 with BOM for Excel) or ``.parquet``.

    Parameters
    ----------
    tables : dict of DataFrame
        E.g. what :func:`qualcode.export_report` returns.
    folder : path
        Created if needed.
    format : {"csv", "parquet"}
    overwrite : bool, default False
        Replace files of an earlier export. Without it, if any file would be
        replaced, nothing is written.

    Returns
    -------
    list of Path
        The files written (see :func:`table_files`).

    Raises
    ------
    OutputExistsError
        If a file exists and ``overwrite`` is false.

    Examples
    --------
    >>> export_tables(qc.export_report(project, "informe.xlsx"), "tablas")  # doctest: +SKIP
    """
    if format not in ("csv", "parquet"):
        raise ParameterError(f"format must be 'csv' or 'parquet', got {format!r}.")
    folder = Path(folder)
    paths = table_files(tables, folder, format=format)
    check_writable(paths, overwrite=overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for frame, path in zip(tables.values(), paths, strict=True):  # one file per table
        if format == "csv":
            # Headers too: the code × attribute tables' column names are attribute values (case hostile 08).
            with reporting(path, "this table (as in the report workbook)"):
                safe = csv_frame(frame, path.name)
            # A byte-order mark makes Excel read UTF-8 (á, ñ) correctly when the file is double-clicked.
            atomic_write_bytes(path, safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"),
                               overwrite=overwrite)
        else:
            try:
                import pyarrow  # noqa: F401
            except ImportError as exc:
                raise MissingDependencyError('Parquet needs pyarrow: pip install "qualcode[parquet]"') from exc
            plain = frame.copy()
            for column in plain.columns:
                # Not Series.map(...).any(): on a string column map() keeps the string dtype, which cannot any().
                if any(isinstance(v, (list, dict)) for v in plain[column]):
                    plain[column] = plain[column].map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v)
            with atomic_path(path, overwrite=overwrite) as tmp:
                plain.to_parquet(tmp, index=False)
        written.append(path)
    return written
