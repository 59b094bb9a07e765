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
from ..io.dates import read_dates
from ..io.paths import path_in
from ..io.roles import Roles, recognise_roles
from ..messages import WORDS, headers, say
from ..schemas import NOT_ATTRIBUTES, check_lang
from .pseudonymize import quote_tags

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..codebook import Codebook

__all__ = ["CSV_SEPARATORS", "DEFAULT_BY", "export_excel", "export_tables", "report_tables", "table_files"]

#: The CSV separators :func:`export_tables` writes: comma, semicolon (Excel where the decimal mark is a comma), tab.
CSV_SEPARATORS = (",", ";", "\t")

# The roles the report tabulates codes by, when the study has them (io.roles: a study column plays each).
DEFAULT_BY = ("role", "site", "stage", "round")
# The default analysis order: by the study's date column when it has one (otherwise the verdict says so).
DEFAULT_ORDER = "date"


def report_tables(quotes: pd.DataFrame, codebook: Codebook, *, segments: pd.DataFrame | None = None,
                  lang: str = "es", by: Sequence[str] = DEFAULT_BY, order: str | None = DEFAULT_ORDER,
                  roles: Roles | None = None, former_labels: Mapping[str, str] | None = None
                  ) -> dict[str, pd.DataFrame]:
    """Every table of the report, keyed by sheet title (in ``lang``), from coded quotes and the codebook.

    ``quotes`` is a coded-quotes table (:func:`qualcode.coded_quotes`): its
    ``quote_now`` is the report's ``quote`` column (a table with ``quote``
    instead is taken as it is).

    Parameters
    ----------
    by : sequence of str
        Attribute columns (the study's own names) or roles (``role``,
        ``site``, ``stage``, ``round`` …) to tabulate codes by. By default the
        roles the study has; a column asked for by name must exist.
    order : str, optional
        The analysis order for first appearance and saturation: a role
        (``date``, the default) or a column; dates are ordered as dates.
    roles : Roles, optional
        Which study column plays which role (:meth:`qualcode.Project.roles`);
        by default recognised from the columns' headers
        (:mod:`qualcode.io.roles`).
    former_labels : mapping, optional
        Code id → its label in the last codebook version that had it, for
        decisions on codes a later version removed (shown under that label,
        marked as not in the current codebook).

    Returns
    -------
    dict of DataFrame
        One quotes table per dimension (quote, code id and label, tag,
        document, speaker, every attribute column of the study, start,
        timestamp, coder, decision, memo), frequencies with labels, a code ×
        attribute table per ``by`` column, co-occurrence, first appearance and
        saturation (Guest and Francis, study-wide and per dimension, with the
        order used), and the codebook. Headers are in ``lang``
        (:mod:`qualcode.messages`); attribute columns keep the study's names.

    Raises
    ------
    ParameterError
        If a column named in ``by`` or ``order`` is neither a role the study
        has nor one of its columns (the message lists them).
    """
    check_lang(lang)
    own = NOT_ATTRIBUTES
    attributes = [c for c in quotes.columns if c not in own and not str(c).startswith("_")]
    if roles is None:  # the study's declared roles travel with coded quotes (qc.coded_quotes: DataFrame.attrs)
        declared = {r: c for r, c in (quotes.attrs.get("roles") or {}).items() if c in attributes}
        roles = recognise_roles(attributes, declared)
    by_columns = [roles.get(b) or b for b in by if (roles.get(b) or b) in quotes.columns]
    unknown = [b for b in by if b not in DEFAULT_BY and (roles.get(b) or b) not in quotes.columns]
    order_column = (roles.get(order) or order) if order is not None else None
    if unknown or (order_column is not None and order != DEFAULT_ORDER and order_column not in quotes.columns):
        wrong = ", ".join(repr(c) for c in [*unknown, *([order] if order_column not in quotes.columns else [])])
        raise ParameterError(f"{wrong}: not a column of this study; its attribute columns are "
                             f"{', '.join(map(str, attributes)) or '(none)'} (roles: "
                             f"{', '.join(f'{r}={c}' for r, c in roles.columns.items()) or 'none'}).")
    labels = {c.id: c.label[lang] or c.label["es" if lang == "en" else "en"] for c in codebook}
    tables: dict[str, pd.DataFrame] = {}
    quotes = quotes.copy()
    if "quote_now" in quotes.columns:  # the report shows the words as they read now, under the header "quote"
        quotes = quotes.drop(columns="quote", errors="ignore").rename(columns={"quote_now": "quote"})
    # Decisions on codes a later codebook version removed or renamed are kept (qualcode codebook set): shown
    # under their old id, labelled as such, never dropped from the report.
    quotes["dimension"] = quotes["code_id"].str.split(".").str[0]
    for code_id in {*quotes["code_id"], *quotes["dimension"]} - set(labels):
        label = (former_labels or {}).get(code_id) or code_id
        labels[code_id] = say("report.not_in_codebook", lang, code_id=code_id, label=label)
    quotes["code"] = quotes["code_id"].map(labels)
    # The analyses find each role under its role name; the sheets show the study's own column names.
    view = quotes.rename(columns=roles.to_analysis(quotes.columns))
    if {"role", "stage", "participant"} <= set(view.columns):
        quotes["tag"] = quote_tags(view)
    columns_shown = [c for c in ["quote", "code_id", "code", "tag", "doc_id", "speaker", *attributes, "start",
                                 "timestamp", "coder", "decision", "memo"] if c in quotes.columns]
    for dimension in codebook.dimensions:
        part = quotes[quotes["dimension"] == dimension].sort_values(["code_id", "doc_id", "start"])
        part = part[columns_shown].reset_index(drop=True)
        if "decision" in part.columns:  # the analyses below read the log's own words: only the sheet is translated
            part["decision"] = part["decision"].map(
                lambda d: say(f"value.decision.{d}", lang) if f"value.decision.{d}" in WORDS else d)
        tables[f"{say('sheet.quotes', lang)} – {labels[dimension]}"] = part
    if segments is not None:
        segments = segments.rename(columns=roles.to_analysis(segments.columns))
    freq = code_frequencies(view, segments=segments, include_ancestors=True)
    freq.insert(1, "code", freq["code_id"].map(labels))
    freq["dimension"] = freq["dimension"].map(lambda d: labels.get(d, d))
    tables[say("sheet.frequencies", lang)] = freq
    by_titles = set()
    for attribute in by_columns:
        table = code_by_attribute(quotes, attribute)
        wide = table.pivot_table(index="code_id", columns=attribute, values="n", aggfunc="sum", fill_value=0)
        wide = wide[_in_time_order(quotes, attribute, list(wide.columns), order_column)]
        wide.insert(0, "code", wide.index.map(labels))
        # Its other columns are the attribute's values, named by the study: only the first two are ours.
        wide = wide.reset_index()
        title = f"{say('sheet.by', lang)} {attribute}"
        by_titles.add(title)
        tables[title] = wide.rename(columns=headers(["code_id", "code"], lang))
    co = cooccurrence(quotes)
    co.insert(1, "label_a", co["code_a"].map(labels))
    co.insert(3, "label_b", co["code_b"].map(labels))
    tables[say("sheet.cooccurrence", lang)] = co
    ordering = order_column if order_column in quotes.columns else None
    first = first_appearance(quotes, order=ordering)
    first["new_codes"] = first["new_codes"].map(lambda codes: "; ".join(labels.get(c, c) for c in codes))
    tables[say("sheet.first", lang)] = first
    results = []
    runs: list[tuple[Literal["guest", "francis"], str | None]] = [
        ("guest", None), ("francis", None), ("guest", "dimension"), ("francis", "dimension")]
    for method, by_group in runs:
        try:
            results.append(saturation(quotes, order=ordering, method=method, by=by_group, lang=lang))
        except ParameterError:  # e.g. no codes yet in the base: say so in the report, do not fail it
            results.append(pd.DataFrame([{"group": "all", "method": method,
                                          "notation": say("verdict.undefined", lang, base=4)}]))
    verdicts = pd.concat(results, ignore_index=True)
    if order is not None and ordering is None:  # say why the verdict is not in the order asked for
        why = say("order.no_column", lang, column=order)
        verdicts["order"] = verdicts["order"].fillna("").astype(str) + f" ({why})"
    verdicts["group"] = verdicts["group"].replace({"all": say("verdict.all", lang), **labels})
    verdicts["method"] = verdicts["method"].map(lambda m: say(f"value.method.{m}", lang))
    if "saturated" in verdicts.columns:
        verdicts["saturated"] = verdicts["saturated"].map(
            lambda v: say("value.true" if v is True else "value.false", lang) if isinstance(v, bool) else v)
    tables[say("sheet.saturation", lang)] = verdicts
    book = codebook.to_frame()
    keep = ["code_id", "parent_id", f"label_{lang}", f"definition_{lang}", f"inclusion_{lang}", f"exclusion_{lang}",
            f"keywords_{lang}"]
    tables[say("sheet.codebook", lang)] = book[[c for c in keep if c in book.columns]]
    # Headers in the report's language; a study's own attribute columns keep their names (messages.header).
    return {title: frame if title in by_titles else _headed(frame, set(attributes), lang)
            for title, frame in tables.items()}


def _in_time_order(quotes: pd.DataFrame, attribute: str, values: list, order: str | None) -> list:
    """An attribute's values in the order of their first interview (Diagnóstico, Intermedia, Final), not A–Z.

    Values with no date, or a study without a date column, keep the pivot's order after the dated ones.
    """
    if order is None or order not in quotes.columns or order == attribute:
        return values
    per_doc = quotes.drop_duplicates("doc_id")
    dates = read_dates(per_doc[order].tolist())
    if dates is None:
        return values
    first = pd.Series(dates.dates.to_numpy(), index=per_doc[attribute].to_numpy()).groupby(level=0).min()
    rank = {value: i for i, value in enumerate(values)}
    return sorted(values, key=lambda v: (pd.isna(first.get(v)), first.get(v) if not pd.isna(first.get(v))
                                         else pd.Timestamp.max, rank[v]))


def _headed(frame: pd.DataFrame, attributes: set[object], lang: str) -> pd.DataFrame:
    """``frame`` with qualcode's headers in ``lang``; a study column named like one of them (a Spanish sheet's
    ``código`` beside qualcode's ``code``) is marked as the study's, so no header is there twice."""
    names = dict(headers(frame.columns, lang))
    ours = {names[c].casefold() for c in frame.columns if c not in attributes}
    for column in frame.columns:
        if column in attributes and str(column).casefold() in ours:
            names[column] = f"{column} ({say('report.attribute', lang)})"
    return frame.rename(columns=names)


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
    from openpyxl.cell.cell import Cell
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    check_lang(lang)
    book = Workbook()
    used: set[str] = set()
    names = []
    first = True
    if about:
        ws = book.worksheets[0]  # a new workbook holds one sheet, the active one
        ws.title = sheet_name(say("sheet.about", lang), used)
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
        like: list[Cell | None] = []  # per column, the style of its data cells (styled once: see put_row)
        for c, name in enumerate(columns, start=1):
            sample = frame.iloc[:200, c - 1].tolist() if len(frame) else []
            longest = max([len(name)] + [len(str(v)) for v in sample if v is not None])
            ws.column_dimensions[get_column_letter(c)].width = min(max(10, longest + 2), 70)
            model = None
            if longest > 60:  # long text wraps
                model = Cell(ws, 1, c)  # a model, never placed in the sheet
                model.alignment = Alignment(wrap_text=True, vertical="top")
            like.append(model)
        for values in frame.itertuples(index=False, name=None) if columns else ():
            put_row(ws, values, like=like)  # rows counted by put_row: linear in the rows (issue 20)
        ws.freeze_panes = "A2"
        if len(frame):
            ws.auto_filter.ref = f"A1:{get_column_letter(max(1, len(columns)))}{len(frame) + 1}"
    if charts:
        ws = book.create_sheet()
        ws.title = sheet_name(say("sheet.charts", lang), used)
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
                  overwrite: bool = False, sep: str = ",") -> list[Path]:
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
    sep : {",", ";", "\\t"}, default ","
        The CSV field separator. ``";"`` is what Excel expects where the
        decimal mark is a comma (Spanish, Chilean … settings): with it,
        decimals are written with a comma too (``12,5``), so Excel reads them
        as numbers; ``qualcode report --lang es`` uses it by default.

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
    if sep not in CSV_SEPARATORS:
        raise ParameterError(f"sep must be one of {', '.join(map(repr, CSV_SEPARATORS))}, got {sep!r}.")
    # Excel splits fields by the list separator of the computer's settings; where that is ';' the decimal mark is
    # ',' and a '12.5' would be read as text (or as 125).
    decimal = "," if sep == ";" else "."
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
            text = safe.to_csv(index=False, lineterminator="\r\n", sep=sep, decimal=decimal)
            atomic_write_bytes(path, text.encode("utf-8-sig"), overwrite=overwrite)
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
