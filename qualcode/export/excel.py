"""The report: coded quotes and theme frequencies as a formatted workbook, and the same tables as CSV/Parquet.

``report_tables`` computes every table of the report (pure); ``export_excel``
writes tables (and optional charts) to one ``.xlsx``; ``export_tables``
writes them as CSV or Parquet files; ``export_report`` does all of it for a
project. Every cell is written safely (see :mod:`qualcode.io.cells`).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pandas as pd

from ..errors import MissingDependencyError, ParameterError
from ..io.cells import csv_frame, put, put_row, sheet_name
from ..schemas import check_lang

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..project import Project
    from .pseudonymize import Pseudonymizer

__all__ = ["export_excel", "export_report", "export_tables", "report_tables", "table_files"]

_TITLES = {
    "es": {"about": "Léame", "quotes": "Citas", "frequencies": "Frecuencias", "by": "Por", "cooccurrence":
           "Coocurrencia", "saturation": "Saturación", "first": "Primera aparición", "codebook": "Libro de códigos",
           "charts": "Gráficos"},
    "en": {"about": "About", "quotes": "Quotes", "frequencies": "Frequencies", "by": "By", "cooccurrence":
           "Co-occurrence", "saturation": "Saturation", "first": "First appearance", "codebook": "Codebook",
           "charts": "Charts"},
}
_DEFAULT_BY = ("role", "district", "stage", "round")


def report_tables(quotes: pd.DataFrame, codebook, *, segments: pd.DataFrame | None = None,  # type: ignore[no-untyped-def]
                  lang: str = "es", by: Sequence[str] = _DEFAULT_BY, order: str | None = "date") -> dict[str, pd.DataFrame]:
    """Every table of the report, keyed by sheet title (in ``lang``), from coded quotes and the codebook.

    Returns
    -------
    dict of DataFrame
        One quotes table per dimension (``quote``, ``code_id``, ``code``
        label, ``doc_id``, ``speaker``, attributes, ``start``, ``timestamp``,
        ``coder``, ``decision``, ``tag``), frequencies with labels, a code ×
        attribute table per attribute, co-occurrence, first appearance and
        saturation (Guest and Francis, study-wide and per dimension), and the codebook.
    """
    from ..analysis import code_by_attribute, code_frequencies, cooccurrence, first_appearance, saturation
    from .pseudonymize import quote_tags

    check_lang(lang)
    t = _TITLES[lang]
    labels = {c.id: c.label[lang] or c.label["es" if lang == "en" else "en"] for c in codebook}
    tables: dict[str, pd.DataFrame] = {}
    quotes = quotes.copy()
    if {"role", "stage", "participant"} <= set(quotes.columns):
        quotes["tag"] = quote_tags(quotes)
    quotes["code"] = quotes["code_id"].map(labels)
    quotes["dimension"] = quotes["code_id"].str.split(".").str[0]
    attributes = [c for c in ("participant", "pseudonym", "role", "district", "stage", "round", "date") if c in quotes.columns]
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
    for options in ({}, {"method": "francis"}, {"by": "dimension"}, {"method": "francis", "by": "dimension"}):
        try:
            results.append(saturation(quotes, order=ordering, **options))
        except ParameterError as exc:  # e.g. no codes yet in the base: say so in the report, do not fail it
            results.append(pd.DataFrame([{"group": options.get("by", "all"), "method": options.get("method", "guest"),
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
    from ..io.atomic import check_writable
    from ..io.cells import reporting

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
        ws = book.active
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
        ws = book.active if first else book.create_sheet()
        first = False
        ws.title = sheet_name(title, used)
        names.append(ws.title)
        columns = [str(c) for c in frame.columns]
        for c, name in enumerate(columns, start=1):
            cell = ws.cell(1, c)
            put(cell, name)
            cell.font, cell.fill = header_font, header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for r, row in enumerate(frame.itertuples(index=False, name=None), start=2):
            for c, value in enumerate(row, start=1):
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
        from ..io.atomic import atomic_path

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
    import re

    folder = Path(folder)
    stems = [re.sub(r"[^\w\-]+", "_", title, flags=re.UNICODE).strip("_").lower() or "table" for title in tables]
    return [folder / f"{stem}.{format}" for stem in stems]


def export_tables(tables: Mapping[str, pd.DataFrame], folder: str | Path, *, format: str = "csv",
                  overwrite: bool = False) -> list[Path]:
    """Write each table as ``<folder>/<name>.csv`` (formula-safe, UTF-8 with BOM for Excel) or ``.parquet``.

    Parameters
    ----------
    tables : dict of DataFrame
        E.g. what :func:`export_report` returns.
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
    >>> export_tables(export_report(project, "informe.xlsx"), "tablas")  # doctest: +SKIP
    """
    from ..io.atomic import atomic_path, atomic_write_bytes, check_writable
    from ..io.cells import reporting

    if format not in ("csv", "parquet"):
        raise ParameterError(f"format must be 'csv' or 'parquet', got {format!r}.")
    folder = Path(folder)
    paths = table_files(tables, folder, format=format)
    check_writable(paths, overwrite=overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for (title, frame), path in zip(tables.items(), paths):
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


def export_report(project: Project, path: str | Path, *, lang: str = "es", coder: str | None = None,
                  pseudonymizer: Pseudonymizer | None = None, charts: bool = True,
                  by: Sequence[str] = _DEFAULT_BY, overwrite: bool = False) -> dict[str, pd.DataFrame]:
    """Write the project's report workbook (coded quotes, frequencies, saturation, codebook, charts).

    Parameters
    ----------
    lang : {"es", "en"}
        Labels and sheet titles.
    coder : str, optional
        Only this coder's decisions (default: everyone's).
    pseudonymizer : Pseudonymizer, optional
        Write the report from a pseudonymized copy of the project (see
        :meth:`Pseudonymizer.project`): no listed or detected name, in any case
        or accent, in any sheet, column, chart or sheet name; the 'about'
        sheet says what was covered. Its mapping is not written here.
    overwrite : bool, default False
        Replace an existing workbook at ``path`` (a report may hold a
        colleague's notes: without it, :class:`~qualcode.errors.OutputExistsError`).

    Returns
    -------
    dict of DataFrame
        The tables written (also usable with :func:`export_tables`).
    """
    from ..io.atomic import check_writable
    from ..io.cells import reporting

    if isinstance(path, (str, Path)):
        check_writable([path], overwrite=overwrite)
    # One report for the workbook, charts included (their labels are drawn in it).
    with reporting(path, "an .xlsx workbook"):
        return _export_report(project, path, lang=lang, coder=coder, pseudonymizer=pseudonymizer, charts=charts, by=by,
                              overwrite=overwrite)


def _export_report(project: Project, path: str | Path | IO[bytes], *, lang: str, coder: str | None,
                   pseudonymizer: Pseudonymizer | None, charts: bool, by: Sequence[str],
                   overwrite: bool) -> dict[str, pd.DataFrame]:
    from ..review.decisions import coded_quotes
    from .pseudonymize import PseudonymizedProject

    if pseudonymizer is not None and not isinstance(project, PseudonymizedProject):
        with pseudonymizer.project(project) as hidden:
            return _export_report(hidden, path, lang=lang, coder=pseudonymizer.transform(coder) if coder else None,
                                  pseudonymizer=None, charts=charts, by=by, overwrite=overwrite)
    hidden = project.pseudonymizer if isinstance(project, PseudonymizedProject) else None
    codebook = project.codebook()
    quotes = coded_quotes(project, coder=coder)
    tables = report_tables(quotes, codebook, segments=project.segments, lang=lang, by=by)
    if hidden is not None:  # the data are pseudonymized already; this pass also covers what tables derive (titles)
        tables = {hidden.transform(title): hidden.scrub(frame) for title, frame in tables.items()}
    figures = {}
    if charts and len(quotes):
        from ..analysis import code_frequencies, first_appearance, saturation
        from .charts import plot_frequencies, plot_saturation

        order = "date" if "date" in quotes.columns else None
        figures["frequencies"] = plot_frequencies(code_frequencies(quotes, segments=project.segments),
                                                  codebook=codebook, lang=lang)
        try:
            verdict = saturation(quotes, order=order).iloc[0]
        except ParameterError:
            verdict = None
        figures["saturation"] = plot_saturation(first_appearance(quotes, order=order), verdict, lang=lang)
    from .. import __version__

    about = {"qualcode": __version__, "project": Path(project.path).name, "codebook": f"{codebook.id} {codebook.version}",
             "coded quotes": len(quotes), "coders": ", ".join(sorted(quotes["coder"].unique())) if len(quotes) else "",
             "pseudonymized": hidden.coverage() if hidden is not None else "no",
             "saturation": "code saturation (no new codes), one lens on the study, not proof"}
    export_excel(tables, path, charts=figures, about=about, lang=lang, overwrite=overwrite)
    return tables
