"""The review workbook: decide on suggestions in Excel or LibreOffice, bring the decisions back.

``export_review_sheet`` writes one row per suggestion (or per participant
segment, to code by hand) with the quote, the interviewer's question before
it, the document's attributes, the code's label, the score and its evidence,
and three columns for the coder: a decision (drop-down), a different code
(drop-down of code labels in the workbook's language; an id or a label in
either language is understood) and a memo. Hidden columns carry each row's segment
id and a hash of its text.

``read_review_sheet`` accepts what people really do to a sheet (case R1):
decisions written ``sí``, ``Accept ``, ``x``, ``0`` or left blank; rows
sorted, deleted or duplicated; columns moved; the sheet renamed.
``apply_review`` refuses a workbook exported from another project (its id
is in the hidden ``about`` sheet) and rows whose segment changed since the
export (R2), takes the rows of a segment together as their net effect,
skips what is already current (read inside the write transaction, so
applying a sheet twice, even from two processes at once, changes nothing),
refuses, row by row, what its coder decided again since the export by other
means (``stale``: an older workbook never reverses a later decision), and
appends the rest in one transaction. The rows are checked and written in
parts of whole segments (``APPLY_PART_ROWS``), all in that transaction, so a
workbook of any length takes the memory of one part.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
import pandas as pd

from ..coders.active import QUEUE_ORDERS, learning_order
from ..errors import ParameterError, ReviewSheetError
from ..io.atomic import atomic_path, check_writable
from ..io.cells import RowStream, reporting
from ..io.paths import existing_file
from ..io.tables import open_workbook, sheet_rows
from ..nlp.normalize import fold
from ..project import text_hash
from ..schemas import check_lang, returns
from ..version import __version__
from .log import Decision, Workbook, chunks, utc_now
from .table import evidence_text, review_table

if TYPE_CHECKING:
    from ..codebook import Codebook
    from ..project import Project

__all__ = ["apply_review", "export_review_sheet", "normalize_decision", "read_review_sheet"]

FORMAT = "qualcode-review-1"
# Column key → header per language. Readers accept either language's header.
HEADERS = {
    "n": {"es": "n°", "en": "no."},
    "doc_id": {"es": "documento", "en": "document"},
    "speaker": {"es": "hablante", "en": "speaker"},
    "question": {"es": "pregunta previa", "en": "question before"},
    "quote": {"es": "cita", "en": "quote"},
    "code_id": {"es": "código", "en": "code"},
    "code_label": {"es": "etiqueta", "en": "label"},
    "score": {"es": "puntaje", "en": "score"},
    "method": {"es": "método", "en": "method"},
    "evidence": {"es": "evidencia", "en": "evidence"},
    "decision": {"es": "decisión", "en": "decision"},
    "other_code": {"es": "otro código", "en": "other code"},
    "memo": {"es": "memo", "en": "memo"},
}
HIDDEN = ("_segment_id", "_text_sha", "_code_id")
CHOICES = {"es": ("aceptar", "rechazar"), "en": ("accept", "reject")}
_ACCEPT = {"accept", "accepted", "aceptar", "aceptado", "aceptada", "acepto", "acepta", "si", "s", "yes", "y", "x",
           "ok", "1", "true", "verdadero", "v", "✓", "✔", "+", "a"}
_REJECT = {"reject", "rejected", "rechazar", "rechazado", "rechazada", "rechazo", "rechaza", "no", "n", "0", "false",
           "falso", "f", "-", "✗", "✘", "r"}


def normalize_decision(value: object) -> str | None:
    """Map what coders write to ``"accept"``, ``"reject"`` or ``None`` (blank).

    Raises
    ------
    ParameterError
        For a value that is neither (the message lists what is understood).

    Examples
    --------
    >>> [normalize_decision(v) for v in ["sí", "Accept ", "x", "0", "", None, "Rechazado"]]
    ['accept', 'accept', 'accept', 'reject', None, None, 'reject']
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = fold(str(value)).strip().rstrip(".!")
    if not text:
        return None
    if text in _ACCEPT:
        return "accept"
    if text in _REJECT:
        return "reject"
    raise ParameterError(f"decision {str(value)!r} is not understood; "
                         "write accept/aceptar/sí/x or reject/rechazar/no/0.")


def export_review_sheet(project: Project, suggestions: pd.DataFrame | None, path: str | Path | IO[bytes], *,
                        lang: str = "es", coder: str | None = None, attributes: list[str] | None = None,
                        question_chars: int = 600, overwrite: bool = False, order: str = "document") -> int:
    """Write a review workbook; return the number of rows.

    An existing workbook (perhaps already filled in by a coder) is never
    replaced unless ``overwrite=True``.

    Parameters
    ----------
    project : Project
    suggestions : DataFrame or None
        Rows with ``segment_id`` and ``code_id`` (and optionally ``score``,
        ``method``, ``evidence``). ``None`` writes one row per participant
        segment with an empty code, for coding by hand.
    path : path or binary file object
        Where to write the ``.xlsx`` (atomically for paths).
    lang : {"es", "en"}
        Headers, code labels and decision choices.
    coder : str, optional
        Recorded in the workbook; ``apply_review`` uses it unless told otherwise.
    attributes : list of str, optional
        Attribute columns to show (default: every attribute of the project).
    overwrite : bool, default False
        Replace an existing file at ``path``.
    order : {"document", "score", "learn"}
        Rows in reading order (default), best score first, or what teaches
        the learned coder most first: uncertain and unlike the rows above
        (:func:`qualcode.coders.active.learning_order`).

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is false (nothing is written).

    Examples
    --------
    >>> qc.export_review_sheet(project, project.suggestions, "revision_ana.xlsx", coder="ana")  # doctest: +SKIP
    412
    """
    if order not in QUEUE_ORDERS:
        raise ParameterError(f"order must be one of {', '.join(map(repr, QUEUE_ORDERS))}, not {order!r}.")
    if isinstance(path, (str, Path)):
        check_writable([path], overwrite=overwrite)  # before any work: a filled workbook is never lost
    with reporting(path, "an .xlsx workbook"):
        return _export_review_sheet(project, suggestions, path, lang=lang, coder=coder, attributes=attributes,
                                    question_chars=question_chars, overwrite=overwrite, order=order)


def _export_review_sheet(project: Project, suggestions: pd.DataFrame | None, path: str | Path | IO[bytes], *,
                         lang: str, coder: str | None, attributes: list[str] | None, question_chars: int,
                         overwrite: bool, order: str = "document") -> int:
    from openpyxl import Workbook
    from openpyxl.cell.cell import Cell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    check_lang(lang)
    codebook = project.codebook()
    labels = {c.id: (c.label[lang] or c.label["es" if lang == "en" else "en"]) for c in codebook}
    tables = _review_parts(project, suggestions, question_chars=question_chars, order=order)
    table = next(tables)
    shown = attributes if attributes is not None else table.attrs["attributes"]
    unknown = [a for a in shown if a not in table.attrs["segment_columns"]]
    if unknown:
        raise ParameterError(f"attribute column(s) {unknown} are not in the project; it has "
                             f"{table.attrs['attributes']}.")

    # Write-only: rows stream to the file as they are made, so time per row is flat and the sheet is never held
    # whole (a round's review of 24k rows in a few seconds). Widths, hidden columns and the frozen header go
    # before the first row; the filter and the drop-downs are written after the last.
    book = Workbook(write_only=True)
    ws = book.create_sheet("revision" if lang == "es" else "review")
    keys = ["n", "doc_id", "speaker", *shown, "question", "quote", "code_id", "code_label", "score", "method",
            "evidence", "decision", "other_code", "memo", *HIDDEN]
    headers = [HEADERS[k][lang] if k in HEADERS else k for k in keys]
    # Styles: readable, filterable, frozen header; the quote column wide and wrapped; the coder's columns shaded.
    header_font, header_fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="2F5597")
    decide_fill = PatternFill("solid", fgColor="FFF2CC")
    widths = {"n": 6, "doc_id": 24, "speaker": 14, "question": 45, "quote": 70, "code_id": 34, "code_label": 26,
              "score": 8, "method": 10, "evidence": 30, "decision": 12, "other_code": 30, "memo": 30}
    like, heading = [], []  # per column, the style every data cell takes and the header's (styled once, copied)
    for c, key in enumerate(keys, start=1):
        letter = get_column_letter(c)
        ws.column_dimensions[letter].width = widths.get(key, 14)
        if key in HIDDEN:
            ws.column_dimensions[letter].hidden = True
        head = Cell(ws, 1, c)  # a model, never placed in the sheet
        head.font, head.fill = header_font, header_fill
        head.alignment = Alignment(wrap_text=True, vertical="center")
        heading.append(head)
        model = Cell(ws, 2, c)
        model.alignment = Alignment(wrap_text=key in ("question", "quote", "evidence", "memo", "code_label"),
                                    vertical="top")
        if key in ("decision", "other_code", "memo"):
            model.fill = decide_fill
        like.append(model)
    ws.freeze_panes = f"{get_column_letter(keys.index('quote') + 1)}2"
    sheet = RowStream(ws)  # after the widths, hidden columns and panes: they precede the rows in the file
    sheet.append(headers, like=heading)  # attribute names are the user's: typed as text
    n_rows = 1
    for i, row in enumerate((r for part in itertools.chain([table], tables) for r in part.to_dict("records")),
                            start=1):
        values = {
            "n": i, "doc_id": row["doc_id"], "speaker": row.get("speaker"), "question": row.get("question"),
            "quote": row["text"], "code_id": row.get("code_id"), "code_label": labels.get(row.get("code_id") or ""),
            "score": None if pd.isna(row.get("score", None)) else round(float(row["score"]), 3),
            "method": row.get("method"), "evidence": evidence_text(row.get("evidence")),
            "decision": None, "other_code": None, "memo": None,
            "_segment_id": row["segment_id"], "_text_sha": row["text_sha"], "_code_id": row.get("code_id"),
            **{a: row.get(a) for a in shown},
        }
        n_rows += 1
        # Typed as text, control characters out, within the cell limit (qualcode.io.cells).
        sheet.append([values.get(key) for key in keys], like=like)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(keys))}{n_rows}"

    codes_ws = book.create_sheet("codes")
    codes = RowStream(codes_ws)
    codes.append(["code_id", "label"])
    for code in codebook:
        codes.append([code.id, labels[code.id]])
    codes_ws.sheet_state = "hidden"
    about = book.create_sheet("about")
    about_sheet = RowStream(about)
    import uuid

    # export_id: recorded with every decision applied from this workbook, so that editing and re-applying it
    # works while re-applying an older one never reverses a later decision; log_position: the last decision
    # in the log when exported (what "later" means, independent of clocks and of imported creation times).
    position = project.query("SELECT max(decision_id) FROM decisions")[0][0] or 0
    about_rows = [("format", FORMAT), ("project", str(Path(project.path).resolve())),
                  ("project_id", project.project_id), ("exported_at", utc_now()), ("export_id", uuid.uuid4().hex),
                  ("log_position", int(position)), ("codebook_version", codebook.version), ("coder", coder or ""),
                  ("lang", lang), ("rows", n_rows - 1), ("qualcode", __version__)]
    for key, value in about_rows:
        about_sheet.append([key, value])
    about.sheet_state = "hidden"

    if n_rows > 1:
        first, last = 2, max(n_rows, 2)
        decision_col = get_column_letter(keys.index("decision") + 1)
        choice = DataValidation(type="list", formula1='"' + ",".join(CHOICES[lang]) + '"', allow_blank=True,
                                errorStyle="warning", showErrorMessage=True,
                                error=("Escriba aceptar o rechazar" if lang == "es" else "Write accept or reject"))
        choice.add(f"{decision_col}{first}:{decision_col}{last}")
        other_col = get_column_letter(keys.index("other_code") + 1)
        # The labels in the workbook's language (column B of "codes"); apply_review takes a label or an id.
        other = DataValidation(type="list", formula1=f"=codes!$B$2:$B${len(codebook) + 1}", allow_blank=True,
                               errorStyle="warning", showErrorMessage=True)
        other.add(f"{other_col}{first}:{other_col}{last}")
        ws.data_validations.append(choice)
        ws.data_validations.append(other)

    if isinstance(path, (str, Path)):
        with atomic_path(path, overwrite=overwrite) as tmp:
            book.save(tmp)
    else:
        book.save(path)
    return n_rows - 1


#: Rows of a review workbook made at a time (in reading order): the table of one part is held while its rows
#: are written, so a round's workbook of any length takes the memory of 20,000 rows (some 50 MB).
REVIEW_PART_ROWS = 20_000


def _review_parts(project: Project, suggestions: pd.DataFrame | None, *, question_chars: int,
                  order: str) -> Iterator[pd.DataFrame]:
    """The review table in the workbook's row order, in parts of whole documents (at least one, maybe empty).

    In reading order (documents by id, segments by start) the parts, taken in that order, are the table
    made in one piece; the other orders need every row at once.
    """
    doc_of = {} if suggestions is None or order != "document" or len(suggestions) <= REVIEW_PART_ROWS or \
        "segment_id" not in suggestions.columns else dict(project.query("SELECT segment_id, doc_id FROM segments"))
    docs = suggestions["segment_id"].map(doc_of) if doc_of and suggestions is not None else None
    if suggestions is None or docs is None or docs.isna().any():  # unknown segments: review_table says so
        table = review_table(project, suggestions, question_chars=question_chars)
        if order != "document" and "score" in table.columns:
            if order == "score":
                best = pd.to_numeric(table["score"], errors="coerce").fillna(-1.0)
                table = table.iloc[best.sort_values(ascending=False, kind="stable").index].reset_index(drop=True)
            else:
                table = table.iloc[learning_order(table)].reset_index(drop=True)
        yield table
        return
    counts = docs.value_counts()
    part: list[str] = []
    size = 0
    ordered = sorted(counts.index)  # the order review_table sorts by
    for k, doc in enumerate(ordered, start=1):
        part.append(doc)
        size += int(counts[doc])
        if size >= REVIEW_PART_ROWS or k == len(ordered):
            yield review_table(project, suggestions[docs.isin(part)], question_chars=question_chars,
                               documents=part)
            part, size = [], 0


def _header_map() -> dict[str, str]:
    out = {}
    for key, names in HEADERS.items():
        out[fold(key)] = key
        for name in names.values():
            out[fold(name)] = key
    for key in HIDDEN:
        out[key] = key
    out["otro codigo"] = "other_code"
    out["other_code"] = "other_code"
    return out


@returns("review_sheet")
def read_review_sheet(path: str | Path) -> pd.DataFrame:
    """Read a (possibly hand-edited) review workbook.

    The sheet holding the hidden ``_segment_id`` column is found whatever
    its name; columns are found by header whatever their order.

    Returns
    -------
    DataFrame
        One row per sheet row:

        {columns}

        ``attrs`` holds the export's
        ``coder``, ``codebook_version``, ``lang``, ``project`` (its path),
        ``project_id``, ``exported_at``, ``export_id`` and ``log_position``
        (``None`` when a workbook of an older qualcode version lacks them).

    Raises
    ------
    ReviewSheetError
        If the file is not a readable ``.xlsx`` or holds no review sheet.
    """
    path = existing_file(path, ReviewSheetError, "review workbook")
    # Row by row (read-only), under the workbook archive policy: a workbook comes back from someone else's computer.
    # Formulas as their text (data_only=False): a memo typed "=…", "+…" or "-…" became a formula, and its words are
    # in the formula, not in the value the spreadsheet computed (an error, or nothing).
    book = open_workbook(path, error=ReviewSheetError, data_only=False)
    try:
        names = _header_map()
        target = None
        for ws in book.worksheets:
            first = next(sheet_rows(ws, path=path, error=ReviewSheetError, max_row=1, values_only=False), ())
            header = [fold(str(c.value)).strip() if c.value is not None else "" for c in first]
            if "_segment_id" in header:
                target, columns = ws, {names[h]: i for i, h in enumerate(header) if h in names}
                break
        if target is None:
            raise ReviewSheetError(
                f"{path}: no sheet has the hidden '_segment_id' column that review workbooks carry. Was the sheet "
                "copied into a new file, or the hidden columns deleted? Export a new review sheet.", path=path)
        meta = {}
        if "about" in book.sheetnames:
            meta = {str(r[0]): (r[1] if len(r) > 1 else None)
                    for r in sheet_rows(book["about"], path=path, error=ReviewSheetError) if r and r[0]}
        missing = [k for k in ("_text_sha", "decision") if k not in columns]
        if missing:
            raise ReviewSheetError(f"{path}: the review sheet lacks column(s) {missing}; export a new review sheet.",
                                   path=path)
        # Only the columns apply_review needs, one list per column (issue 20: every cell of every row, quotes and
        # questions included, was most of the memory of reading a round's workbook). A row counts when any of its
        # cells holds something; formulas are noted only where they sit in a kept column.
        kept = {key: i for key, i in columns.items() if key in _READ}
        numbers: list[int] = []  # the sheet row of each row read
        held: dict[str, list] = {key: [] for key in kept}
        formulas: dict[int, set[int]] = {}  # position in numbers → kept columns holding a formula
        for number, cells in enumerate(sheet_rows(target, path=path, error=ReviewSheetError, min_row=2,
                                                  values_only=False), start=2):
            if all(c.value in (None, "") for c in cells):
                continue
            width = len(cells)
            for key, i in kept.items():
                held[key].append(cells[i].value if i < width else None)
            found = {i for i in kept.values() if i < width and cells[i].data_type == "f"}
            if found:
                formulas[len(numbers)] = found
            numbers.append(number)
        title = target.title
    finally:
        book.close()
    n = len(numbers)
    for key in _READ:
        held.setdefault(key, [None] * n)
    # The values the spreadsheet computed, read only where a formula sits where a value is expected.
    computed = {(numbers[p], i) for p, found in formulas.items() for key, i in kept.items()
                if i in found and key not in _TYPED_TEXT}
    cached = _computed_values(path, title, computed) if computed else {}
    remarks: dict[int, str] = {}
    unsaved: set[int] = set()
    for p, found in formulas.items():
        said = []
        for key, i in kept.items():
            if i not in found:
                continue
            if key in _TYPED_TEXT:
                # Someone's words that the spreadsheet took for a formula: keep them, and say so.
                held[key][p] = _formula_text(held[key][p])
                said.append(f"the {_TYPED_TEXT[key]} is a formula in the spreadsheet; recorded as its text")
            else:
                held[key][p] = cached.get((numbers[p], i))
                if key == "decision" and held[key][p] is None:
                    unsaved.add(p)
        if said:
            remarks[p] = "; ".join(said)
    segment_ids = held.pop("_segment_id")
    decisions: list[str | None] = []
    problems: list[str | None] = []
    decision_problems: list[str | None] = []
    for p, (segment_id, typed) in enumerate(zip(segment_ids, held.pop("decision"), strict=True)):
        decision = problem = decision_problem = None
        if not segment_id:
            problem = "the hidden segment id is empty (the row was typed in by hand?)"
        else:
            try:
                decision = normalize_decision(typed)
                if p in unsaved:
                    decision_problem = ("the decision cell is a formula whose value the spreadsheet did not save; "
                                        "type the decision (aceptar/rechazar)")
            except ParameterError as exc:
                # Only this cell is unclear: the row's other code can still be taken.
                decision_problem = str(exc)
        decisions.append(decision)
        problems.append(problem)
        decision_problems.append(decision_problem)
    frame = pd.DataFrame({
        "row": pd.array(numbers, dtype="Int64"),
        "segment_id": _text_column(segment_ids),
        "text_sha": _text_column(held.pop("_text_sha")),
        "code_id": _text_column([a or b for a, b in zip(held.pop("_code_id"), held.pop("code_id"), strict=True)]),
        "decision": _text_column(decisions),
        "other_code": _text_column([(str(v).strip() or None) if v else None for v in held.pop("other_code")]),
        "memo": _text_column([(str(v).strip() or None) if v is not None else None for v in held.pop("memo")]),
        "method": _text_column([(str(v).strip() or None) if v else None for v in held.pop("method")]),
        "score": pd.array([_number(v) for v in held.pop("score")], dtype="Float64"),
        "problem": _text_column(problems),
        "decision_problem": _text_column(decision_problems),
        "remark": _text_column([remarks.get(p) for p in range(n)]),
    })
    del segment_ids, decisions, problems, decision_problems
    # Duplicated rows: identical ones count once; different decisions for one suggestion are a problem.
    decided = frame[frame["problem"].isna()]
    # Only the keys that repeat are grouped: a group per row cost more than the rest of the reading.
    decided = decided[decided.duplicated(["segment_id", "code_id"], keep=False)]
    for _, group in decided.groupby(["segment_id", "code_id"], dropna=False):
        if len(group) < 2:
            continue
        distinct = group[["decision", "other_code", "memo"]].drop_duplicates()
        if len(distinct) > 1:
            rows_list = list(group["row"])
            frame.loc[group.index, "problem"] = (f"rows {rows_list} give different decisions for the same "
                                                 "suggestion; keep one")
        else:
            frame.loc[group.index[1:], "problem"] = f"duplicate of row {group['row'].iloc[0]} (taken once)"
    frame.attrs.update({"path": str(path), "coder": meta.get("coder") or None,
                        "codebook_version": meta.get("codebook_version"), "lang": meta.get("lang"),
                        "format": meta.get("format"), "project": meta.get("project"),
                        "project_id": str(meta["project_id"]) if meta.get("project_id") else None,
                        "exported_at": str(meta["exported_at"]) if meta.get("exported_at") else None,
                        "export_id": str(meta["export_id"]) if meta.get("export_id") else None,
                        "log_position": _position(meta.get("log_position"))})
    return frame


# The columns of a review sheet that read_review_sheet keeps (what apply_review needs).
_READ = ("_segment_id", "_text_sha", "_code_id", "code_id", "decision", "other_code", "memo", "method", "score")


def _text_column(values: list) -> pd.Series:
    """``values`` (cell values, ``None`` for none) as a column of pandas' string dtype.

    The type is inferred first, as a frame made of the rows would: a column of whole numbers with blanks reads
    as before (``1.0``).
    """
    return pd.Series(values).astype("string")


def _computed_values(path: Path, title: str, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], object]:
    """The values the spreadsheet saved for these (sheet row, column index) cells of sheet ``title``."""
    book = open_workbook(path, error=ReviewSheetError, data_only=True)
    out: dict[tuple[int, int], object] = {}
    try:
        last = max(number for number, _ in wanted)
        for number, row in enumerate(sheet_rows(book[title], path=path, error=ReviewSheetError, max_row=last),
                                     start=1):
            for i in range(len(row)):
                if (number, i) in wanted:
                    out[(number, i)] = row[i]
    finally:
        book.close()
    return out


# Columns where a person types free text (shown by these names in a row's report).
_TYPED_TEXT = {"memo": "memo", "other_code": "'other code' cell"}


def _formula_text(value: object) -> str:
    """The words of a cell the spreadsheet turned into a formula.

    A cell started with ``+`` or ``-`` is stored as ``=+…`` / ``=-…``: the
    ``=`` is the spreadsheet's and goes. Any other formula is kept whole,
    ``=`` included: the person typed it, and no word is lost.

    Examples
    --------
    >>> _formula_text("=-muy general"), _formula_text("=muy general, sin apoyo")
    ('-muy general', '=muy general, sin apoyo')
    """
    text = str(getattr(value, "text", value) or "")  # array formulas carry their text in .text
    return text[1:] if text[:2] in ("=+", "=-") else text


def _position(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]  # any cell value: one int() refuses means None
    except (TypeError, ValueError):
        return None


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]  # any cell value: one float() refuses means None
    except (TypeError, ValueError):
        return None
    return None if number != number else number


@returns("review_outcomes")
def apply_review(project: Project, review: pd.DataFrame, *, coder: str | None = None) -> pd.DataFrame:
    """Append a read review sheet's decisions to the project's log, in one transaction.

    What the rows of one segment say about one code is taken together, as
    its net effect: accept X on one row and X as "other code" on a sibling
    row is one accept of X; a row that rejects X and another that picks X is
    a conflict, reported on both rows, and nothing is recorded for X. The
    result is compared with the coder's current decisions *inside* the write
    transaction and only changes are appended, so applying the same sheet any
    number of times, or from two processes at once, changes nothing after the
    first. Accepts and rejects keep the suggestion's method and score.
    The rows are taken in parts of about 5,000 (the rows of a segment always
    together), all in that one transaction: memory follows the part, not the
    workbook, and an error in any part leaves the project as it was.

    ``other code`` takes a code id or a label in either language (case and
    accents do not matter): the suggested code is rejected (unless the row
    accepts it) and the other code added by hand. An unclear cell is
    reported (with the closest codes) and the row's other decisions are
    still recorded. Rows whose segment no longer exists or whose text
    changed since the export are refused (case R2), never applied to other
    words; a workbook exported from another project is refused as a whole.

    Applying an older workbook never reverses a later decision: a row whose
    segment and code its coder decided again after the workbook was exported,
    by anything but this same workbook (another workbook, the notebook, the
    widget, an import), is ``stale``: not applied, and reported with the
    decision that stands. Editing a workbook and applying it again works as
    before (each decision records the workbook's ``export_id``). A memo or
    "other code" the spreadsheet turned into a formula is taken as its text
    and the row says so.

    Parameters
    ----------
    project : Project
    review : DataFrame
        As returned by :func:`read_review_sheet`.
    coder : str, optional
        Who made the decisions (default: the coder recorded at export).

    Returns
    -------
    DataFrame
        One row per sheet row:

        {columns}

    Raises
    ------
    ReviewSheetError
        Without a coder (``parameter="coder"``), or for a workbook exported
        from another project; nothing is applied then.

    Examples
    --------
    >>> report = qc.apply_review(project, qc.read_review_sheet("revision_ana.xlsx"))  # doctest: +SKIP
    >>> report[report["outcome"].isin(["refused", "partial"])]  # doctest: +SKIP
    """
    path = review.attrs.get("path")
    where = f"{path}: " if path else ""
    who = coder or review.attrs.get("coder")
    if not who:
        raise ReviewSheetError(f"{where}say who made these decisions: apply_review(..., coder='ana') "
                               "(the workbook was exported without a coder).", path=path, parameter="coder")
    exported_from = review.attrs.get("project_id")
    if exported_from and exported_from != project.project_id:
        raise ReviewSheetError(
            f"{where}this workbook was exported from another project ({review.attrs.get('project') or '?'}, "
            f"id {exported_from[:8]}), not from {project.path}; apply it to that project, or re-export from this one.",
            path=path)
    log = project.log
    workbook = _workbook(review, project.project_id)
    export_id = workbook.export_id if workbook is not None else None
    if not exported_from:
        _refuse_foreign_old_workbook(project, review, where, path)
    codebook = project.codebook()
    version = log.current_version()
    # The rows in parts of whole segments (a segment's rows are taken together), checked and written part by
    # part in one transaction: memory follows the part, not the workbook (issue 20), and an error in any part
    # leaves the project as it was.
    # What happened to each row, one list per column: the row, segment and code columns are the sheet's, taken
    # at the end (held per row through the parts, they would cost more than a part).
    said: dict[str, list] = {name: [None] * len(review) for name in ("outcome", "decisions", "message")}
    with log.appending(workbook) as append:
        for positions in _apply_parts(review):
            rows = [_clean(r) for r in review.iloc[positions].to_dict("records")]
            for position, out in zip(positions.tolist(), _apply_part(project, rows, codebook, version, who,
                                                                       export_id, append), strict=True):
                for column, value in zip(said.values(), out, strict=True):
                    column[position] = value
    # Column by column, each list let go once it is a column (types inferred as a frame of the rows would).
    table = {name: pd.Series([_clean_value(v) for v in review[name].tolist()]) for name in ("row", "segment_id",
                                                                                            "code_id")}
    while said:
        name = next(iter(said))
        table[name] = pd.Series(said.pop(name))
    return pd.DataFrame(table)


#: Rows of a review workbook checked and written at a time by :func:`apply_review` (more when a segment's rows
#: go past it: they are taken together).
APPLY_PART_ROWS = 5_000


def _apply_parts(review: pd.DataFrame) -> Iterator[np.ndarray]:
    """Positions of the rows of ``review``, in parts of about :data:`APPLY_PART_ROWS` rows of whole segments.

    Segments in the order they first appear in the sheet; each part's rows in sheet order. Rows without a
    segment id come first (nothing of theirs is applied).
    """
    segments, _ = pd.factorize(review["segment_id"], use_na_sentinel=True)  # missing: -1
    order = np.argsort(segments, kind="stable")
    ordered = segments[order]
    size = max(1, int(APPLY_PART_ROWS))
    start = 0
    while start < len(order):
        end = min(start + size, len(order))
        if end < len(order) and ordered[end - 1] >= 0:  # not across a segment's rows: to its last one
            end = int(np.searchsorted(ordered, ordered[end - 1], side="right"))
        yield np.sort(order[start:end])
        start = end


def _refuse_foreign_old_workbook(project: Project, review: pd.DataFrame, where: str, path: str | None) -> None:
    """Refuse a workbook of an older qualcode (no project id) none of whose usable rows is a segment of ``project``."""
    usable = review.loc[review["problem"].isna() & review["segment_id"].fillna("").ne(""), "segment_id"]
    if usable.empty:
        return
    for chunk in chunks(usable.unique().tolist()):
        marks = ", ".join("?" * len(chunk))
        if project.query(f"SELECT 1 FROM segments WHERE segment_id IN ({marks}) LIMIT 1", chunk):
            return
    raise ReviewSheetError(
        f"{where}none of the workbook's {len(usable)} rows is a segment of {project.path}: it was exported from "
        "another project, or every transcript in it changed since the export. Apply it to the project it came "
        "from, or re-export from this one.", path=path)


def _apply_part(project: Project, rows: list[dict], codebook: Codebook, version: str, who: str,
                export_id: str | None, append: Callable[[list[Decision]], tuple[list[str], list[dict | None]]]
                ) -> list[tuple]:
    """Check one part's rows (every row of its segments), append its decisions; per row: outcome, decisions, message."""
    log = project.log
    places = log.segments({r["segment_id"] for r in rows if r["segment_id"]})
    codes = {c.id for c in codebook}
    report: list[dict] = []
    # (segment, code) → what the rows say about it: (kind, index in report, memo)
    intents: dict[tuple[str, str], list[tuple[str, int, str | None]]] = {}
    suggested: dict[tuple[str, str], dict] = {}
    for r in rows:
        out = {"row": r["row"], "segment_id": r["segment_id"], "code_id": r["code_id"], "outcome": "refused",
               "decisions": "", "message": "", "notes": [], "parts": [], "remarks": [],
               "stale": []}
        report.append(out)
        if r.get("remark"):
            out["remarks"].append(r["remark"])
        seg, code, other, decision, memo = r["segment_id"], r["code_id"], r["other_code"], r["decision"], r["memo"]
        if r["problem"] is not None:
            if r["problem"].startswith("duplicate of row"):
                out["outcome"] = "unchanged"
            out["message"] = r["problem"]
            continue
        if seg not in places:
            out["message"] = ("its segment is no longer in the project (the transcript was corrected after the "
                              "export); re-export the review sheet")
            continue
        if text_hash(places[seg][1]) != r["text_sha"]:
            out["message"] = "its segment's text changed since the export; re-export the review sheet"
            continue
        notes = out["notes"]
        if r["decision_problem"] is not None:
            notes.append(r["decision_problem"])
        if code and code not in codes:
            if decision is not None or other:
                notes.append(f"code {code!r} is not in the project's codebook any more: its decision is not recorded")
            code = None
        elif not code and decision is not None and not other:
            notes.append("this row suggests no code: write the code in 'other code' to code the segment by hand")
        wanted: list[tuple[str, str]] = []
        if decision is not None and code:
            wanted.append((decision, code))
        if other:
            chosen, problem = _resolve_code(other, codebook)
            if problem:
                notes.append(problem)
            elif chosen is not None and chosen == code:  # chosen is None only with a problem, above
                wanted.append(("accept", chosen))  # the suggested code picked as "other code": it applies
            elif chosen:
                if code and decision is None and r["decision_problem"] is None:
                    wanted.append(("reject", code))  # another code instead of the suggested one
                wanted.append(("manual", chosen))
        if code:
            suggested[(seg, code)] = r
        index = len(report) - 1
        for kind, c in wanted:
            intents.setdefault((seg, c), []).append((kind, index, memo))
        if not wanted and not notes:
            if memo:
                notes.append("a memo without a decision is not recorded: write aceptar/rechazar or another code")
            else:
                out.update(outcome="blank", message="no decision in this row")
    # The net effect per (segment, code), compared with the current state inside the write transaction.
    stored = _stored_suggestions(project, {seg for seg, _ in intents})
    planned: list[tuple[Decision, list[int], list[int]]] = []  # decision, rows that asked for it, rows covered
    for (seg, c), items in sorted(intents.items(), key=lambda kv: min(i for _, i, _ in kv[1])):
        positive = [i for i in items if i[0] != "reject"]
        negative = [i for i in items if i[0] == "reject"]
        if positive and negative:
            rows_said = sorted({report[i]["row"] for _, i, _ in items})
            for _, i, _ in items:
                report[i]["notes"].append(f"rows {rows_said} disagree on code {c!r} for this segment (rejected and "
                                          "chosen): nothing recorded for it; keep one")
            continue
        kind = "reject" if negative else ("accept" if any(k == "accept" for k, _, _ in positive) else "manual")
        group = negative or positive
        memos = list(dict.fromkeys(m for _, _, m in group if m))
        doc_id, text, _, _ = places[seg]
        info = _suggestion_info(suggested.get((seg, c)), stored.get((seg, c), []), version)
        if kind == "manual":
            decision_ = Decision.manual(seg, c, who, doc_id=doc_id, quote=text, memo=" | ".join(memos) or None,
                                        source="sheet", codebook_version=version, export_id=export_id)
        else:
            decision_ = getattr(Decision, kind)(seg, c, who, doc_id=doc_id, quote=text,
                                               memo=" | ".join(memos) or None, source="sheet",
                                               export_id=export_id, **info)
        asked = [i for k, i, _ in group if k == kind]
        planned.append((decision_, asked, [i for _, i, _ in group]))
    outcomes, later = append([p[0] for p in planned])
    for (decision_, asked, covered), outcome, newer in zip(planned, outcomes, later, strict=True):  # one per decision
        for i in covered:
            report[i]["parts"].append(outcome)
            if newer is not None:
                report[i]["stale"].append(_stale_message(who, newer, export_id))
        if outcome == "applied":
            for i in dict.fromkeys(asked):
                report[i]["decisions"] = "+".join(filter(None, [report[i]["decisions"], decision_.decision]))
    done = []
    for out in report:
        parts, notes, stale = out.pop("parts"), out.pop("notes"), out.pop("stale")
        remarks = out.pop("remarks")
        taken = [p for p in parts if p != "stale"]
        if taken:
            out["outcome"] = "partial" if notes or stale else ("applied" if "applied" in taken else "unchanged")
        elif stale:
            out["outcome"] = "stale" if not notes else "refused"
        elif notes:
            out["outcome"] = "refused"
        messages = [*([out["message"]] if out["message"] else []), *notes, *stale, *remarks]
        if messages:
            out["message"] = "; ".join(dict.fromkeys(messages))
        done.append((out["outcome"], out["decisions"], out["message"]))
    return done


def _workbook(review: pd.DataFrame, project_id: str) -> Workbook | None:
    """The staleness check's view of the workbook a read sheet came from (``None``: nothing to tell)."""
    attrs = review.attrs
    exported_at = attrs.get("exported_at")
    export_id = attrs.get("export_id")
    if not export_id and exported_at:
        # Exported before workbooks carried an id: its project and moment of export name it.
        export_id = f"{attrs.get('project_id') or project_id}@{exported_at}"
    if not export_id:
        return None
    return Workbook(str(export_id), exported_at, attrs.get("log_position") if attrs.get("export_id") else None)


_FROM = {"notebook": "in the notebook", "widget": "in the review widget", "cli": "from the command line",
         "import": "imported from another tool's project", "sheet": "from another workbook"}


def _stale_message(coder: str, later: dict, export_id: str | None) -> str:
    """Why a row is not applied: its coder decided again after the export (no quote, no memo: no names)."""
    made = pd.to_datetime(later.get("created_at"), utc=True,  # type: ignore[call-overload]  # None gives NaT
                          errors="coerce")
    when = made.tz_convert(None).strftime("%Y-%m-%d %H:%M UTC") if not pd.isna(made) else "time unknown"
    source = later.get("source")
    where = _FROM.get(str(source), f"from {source}")
    if source == "sheet" and not isinstance(later.get("export_id"), str):
        where = "from a workbook (which one was not recorded)"
    return (f"{coder} decided this again after this workbook was exported ({later.get('decision')}, {when}, "
            f"{where}); the later decision is kept — re-export to see the current state")


def _clean(row: dict) -> dict:
    """A read row with pandas' missing values as ``None``."""
    return {k: _clean_value(v) for k, v in row.items()}


def _clean_value(value: object) -> object:
    """``value``, or ``None`` for pandas' missing values."""
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else value


def _resolve_code(typed: str, codebook: Codebook) -> tuple[str | None, str | None]:
    """The code an "other code" cell names (an id, or a label in either language), or why it names none."""
    import difflib

    def key(text: str) -> str:
        return " ".join(fold(text).split())

    wanted = key(typed.lstrip("="))  # a cell the spreadsheet took for a formula: no code starts with "="
    names: dict[str, set[str]] = {}
    for code in codebook:
        for name in (code.id, *(label for label in code.label.values() if label)):
            names.setdefault(key(name), set()).add(code.id)
    found = names.get(wanted, set())
    if len(found) == 1:
        return next(iter(found)), None
    if found:
        return None, (f"other code {typed!r} is the label of several codes ({', '.join(sorted(found))}); "
                      "write the code id")
    shown: dict[str, str] = {}
    for code in codebook:
        label = code.label.get("es") or code.label.get("en") or code.id
        for name in (code.id, *(v for v in code.label.values() if v)):
            shown.setdefault(key(name), f"{label!r} ({code.id})" if label != code.id else code.id)
    close = difflib.get_close_matches(wanted, list(shown), n=3, cutoff=0.6)
    hint = f"closest: {', '.join(dict.fromkeys(shown[c] for c in close))}" if close else \
        "pick one from the drop-down (its codes are listed with qualcode codebook show)"
    return None, f"other code {typed!r} is not a code of the codebook ({hint}); not recorded"


def _stored_suggestions(project: Project, segment_ids: set[str]) -> dict:
    """(segment, code) → stored suggestions ``(method, score, codebook_version)``, for these segments only."""
    out: dict[tuple[str, str], list[tuple]] = {}
    for chunk in chunks(sorted(segment_ids)):
        marks = ", ".join("?" * len(chunk))
        for seg, code, method, score, version in project.query(
                "SELECT segment_id, code_id, method, score, codebook_version FROM suggestions "
                f"WHERE segment_id IN ({marks}) ORDER BY rank, method", chunk):
            out.setdefault((seg, code), []).append((method, score, version))
    return out


def _suggestion_info(row: dict | None, stored: list[tuple], version: str) -> dict:
    """Method, score and codebook version of the suggestion a row decided on, as the notebook records them."""
    if row is None:
        return {"codebook_version": version}
    for method, score, codebook_version in stored:
        if row["method"] is None or method == row["method"]:
            return {"method": method, "score": float(score), "codebook_version": codebook_version}
    return {"method": row["method"], "score": row["score"], "codebook_version": version}
