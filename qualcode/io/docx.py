"""Word transcripts (``.docx``): what Word shows, with tracked changes accepted.

The main document part (``word/document.xml``, found through the package
relationships) is read with the safe zip and XML readers of
:mod:`qualcode.io.safe` (no DTD, no entities, bounded inflation) and walked
in document order. python-docx's ``Paragraph.text`` and
``iter_inner_content()`` skip tracked insertions, content controls, fields,
text boxes and more; a transcript that lost those words would be silently
wrong, so this module reads the XML itself.

Containers handled, and how:

- ``w:p`` paragraph: one block; speaker labels are then found as in plain text.
- ``w:r`` / ``w:t`` run and text: kept; hidden text (``w:rPr/w:vanish``) is left out and reported.
- ``w:tab``, ``w:ptab``: a tab. ``w:br``, ``w:cr``: a line break (``\\n``).
- ``w:noBreakHyphen``: ``-``. ``w:softHyphen``: nothing (it only shows at the end of a line).
- ``w:sym``: its character; symbol-font pictures (U+F000–U+F0FF, Wingdings) are left out and counted.
- ``w:ins``, ``w:moveTo``: kept, as after "Accept all changes" (counted, reported).
- ``w:del`` / ``w:delText``, ``w:moveFrom``: left out (counted, reported); a deleted paragraph mark
  joins the paragraph to the next one.
- ``w:hyperlink``, ``w:smartTag``, ``w:customXml``, ``w:dir``, ``w:bdo``: their runs are kept.
- ``w:sdt`` / ``w:sdtContent`` content controls: the content is kept, around blocks, rows, cells or runs.
- ``w:fldSimple``: its result runs are kept. Complex fields (``w:fldChar`` begin / separate / end):
  the result is kept, the instruction (``w:instrText``) is not; nested fields work.
- ``w:ruby``, between runs or inside a run (``w:r``): the base text (``w:rubyBase``); the pronunciation
  guide (``w:rt``) is not kept.
- ``m:oMath``, ``m:oMathPara``: the equation's text.
- ``w:drawing``, ``w:pict``, ``w:object``: text boxes inside (``w:txbxContent``, also in grouped
  shapes) become blocks after the paragraph that anchors them (counted, reported).
- ``mc:AlternateContent``: one branch only, the first ``mc:Choice``, else ``mc:Fallback`` (both hold
  the same text box; reading both would double it).
- ``w:tbl`` / ``w:tr`` / ``w:tc``: rows in order. A row whose first cell is short becomes
  ``Speaker: speech`` (a time-mark column becomes ``[00:01:02] Speaker: speech``); a row with one
  filled cell gives that cell's blocks; a speaker or time cell merged down (``w:vMerge``), in any
  column but the last, labels every row it spans (cells are placed on the table grid, ``w:gridBefore``
  and ``w:gridSpan`` counted, so a merge continues the cell above it; speech merged down is read once);
  a table nested in a cell that has neighbours is part of that cell's speech (one line per row), one
  nested in a single-cell (layout) row is read as a table of turns; deleted rows (``w:trPr/w:del``) and
  cells (``w:cellDel``) are left out.
- Table header rows: a leading row of column titles (``Hablante | Intervención``, ``Speaker | Text``,
  ``Nombre | Texto``, ``Tiempo | Hablante | Texto``), a short row marked "repeat as header row"
  (``w:tblHeader``), or a bold row of mostly titles, is not a turn (reported).

Not transcript text, so not read: footnotes, endnotes and comments (their
reference marks are counted and reported), page headers and footers, charts
and SmartArt (separate parts), and embedded documents (``w:altChunk``,
reported). Old binary ``.doc`` files and password-protected files are refused
with what to do.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExchangeFileError, ProtectedFileError, QualcodeError, TranscriptFormatError, UnsupportedFormatError
from ..nlp.normalize import fold_label
from .encoding import normalize_text
from .safe import WORD_LIMITS, parse_xml_safely, read_zip_safely

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["WordText", "check_office_container", "read_docx", "read_docx_text"]

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Transitional and Strict OOXML name the same elements in different namespaces.
_PREFIX = {
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main": "w",
    "http://purl.oclc.org/ooxml/wordprocessingml/main": "w",
    "http://schemas.openxmlformats.org/markup-compatibility/2006": "mc",
    "http://schemas.openxmlformats.org/officeDocument/2006/math": "m",
    "http://purl.oclc.org/ooxml/officeDocument/math": "m",
}
_PASS_INLINE = {"w:hyperlink", "w:smartTag", "w:customXml", "w:fldSimple", "w:dir", "w:bdo", "w:rubyBase"}
_ACCEPTED = {"w:ins", "w:moveTo"}
_REJECTED = {"w:del", "w:moveFrom"}
_NOTE_MARKS = {"w:footnoteReference": "footnote", "w:endnoteReference": "endnote", "w:commentReference": "comment"}
_TIME_CELL = re.compile(r"[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?[\])]?")
# Column titles of transcript tables (folded); a first row made only of these is a header.
_COLUMN_TITLES = {
    "hablante", "hablantes", "speaker", "speakers", "nombre", "name", "interlocutor", "interlocutora",
    "participante", "participant", "persona", "quien", "quien habla", "rol", "role", "who",
    "texto", "text", "intervencion", "intervenciones", "transcripcion", "transcript", "transcription",
    "dialogo", "dialogue", "contenido", "content", "discurso", "habla", "utterance", "speech", "testimonio",
    "tiempo", "time", "hora", "marca de tiempo", "timestamp", "time code", "timecode", "minuto", "min",
    "turno", "turn", "n", "no", "n°", "nº", "#", "linea", "line", "pregunta", "respuesta", "question",
    "answer", "comentario", "comment",
}


@dataclass
class WordText:
    """What :func:`read_docx` read: the text, and what the load report should say about it.

    ``notes`` are facts worth a line in the report (a header row skipped, text
    boxes read); ``warnings`` are things a user should check (tracked changes
    read as accepted, hidden text left out).
    """

    text: str
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_office_container(path: Path, kind: str) -> None:
    """Refuse old binary Office files and encrypted ones with a message saying what to do.

    ``kind`` is ``"Word"`` or ``"Excel"``. Encrypted OOXML files are stored in
    an OLE container with an ``EncryptedPackage`` stream, the same container
    old ``.doc``/``.xls`` files use; the stream name tells them apart.
    """
    with open(path, "rb") as handle:
        head = handle.read(8)
        if head != _OLE:
            _refuse_open_document(path, head + handle.read(120), kind)
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


def _refuse_open_document(path: Path, head: bytes, kind: str) -> None:
    """An OpenDocument file (LibreOffice's own .ods/.odt, perhaps renamed) is refused with what to do.

    Its zip stores an uncompressed ``mimetype`` member first (ODF 1.2, part 3, 3.3), so the opening bytes tell.
    """
    mark = head.find(b"mimetypeapplication/vnd.oasis.opendocument.")
    if mark < 0:
        return
    what = "spreadsheet (.ods)" if b"opendocument.spreadsheet" in head else "text document (.odt)" \
        if b"opendocument.text" in head else "file"
    new = ".docx" if kind == "Word" else ".xlsx"
    raise UnsupportedFormatError(
        f"{path}: this is an OpenDocument {what} (LibreOffice's own format), not {new}. Open it in LibreOffice "
        f"and use File > Save As > {'Word 2007-365' if kind == 'Word' else 'Excel 2007-365'} ({new}).",
        path=path)


def read_docx(path: str | Path) -> WordText:
    """Read a Word file as Word shows it with tracked changes accepted.

    Paragraphs and table rows become blocks separated by blank lines, in
    document order; see the module docstring for every container read.

    Parameters
    ----------
    path : str or Path
        A ``.docx`` file.

    Returns
    -------
    WordText
        ``text`` (normalised: ``\\n`` newlines, NFC), ``notes`` and
        ``warnings`` for the load report.

    Raises
    ------
    TranscriptFormatError
        If the file is truncated, corrupt, not a Word document, or an old
        ``.doc`` renamed ``.docx``.
    ProtectedFileError
        If the file is password-protected.

    Examples
    --------
    >>> read_docx("data_samples/transcripts/int_d05_final.docx").text[:14]  # doctest: +SKIP
    'Entrevistadora'
    """
    path = Path(path)
    check_office_container(path, "Word")
    try:
        root = _main_part(path)
    except TranscriptFormatError:
        raise
    except (ExchangeFileError, KeyError) as exc:
        raise TranscriptFormatError(
            f"{path}: the Word file is damaged or incomplete ({exc}). "
            "Open it in Word or LibreOffice, save a new copy as .docx, and load that.",
            path=path,
        ) from None
    except QualcodeError:
        raise
    except Exception as exc:  # a reader bug must not pass as a traceback
        raise TranscriptFormatError(
            f"{path}: the Word file is damaged and could not be read ({type(exc).__name__}: {exc}). "
            "Open it in Word or LibreOffice, save a new copy as .docx, and load that.",
            path=path,
        ) from None
    if _key(root) != "w:document":
        raise TranscriptFormatError(
            f"{path}: this is not a Word document (its main part is <{_local(root)}>). "
            "Save the transcript from Word as .docx, or give the file its own suffix.",
            path=path,
        )
    walker = _Walker()
    body = next((child for child in root if _key(child) == "w:body"), None)
    blocks = walker.blocks(body) if body is not None else []
    text = normalize_text("\n\n".join(block.strip("\n") for block in blocks if block.strip()))
    notes, warnings = walker.report()
    # The load report's row names the file once; its warnings do not repeat it.
    return WordText(text, notes, warnings)


def read_docx_text(path: str | Path) -> str:
    """Return the normalised text of a Word file, one paragraph per block.

    The text part of :func:`read_docx`.

    Raises
    ------
    TranscriptFormatError
        If the file is truncated, corrupt, or an old ``.doc`` renamed ``.docx``.
    ProtectedFileError
        If the file is password-protected.
    """
    return read_docx(path).text


def _main_part(path: Path) -> etree._Element:
    """The parsed main document part, found through ``_rels/.rels`` (``word/document.xml`` by default)."""
    rels = _parts(path, "_rels/.rels")
    target = "word/document.xml"
    if "_rels/.rels" in rels:
        for rel in parse_xml_safely(rels["_rels/.rels"], name=f"{path}:_rels/.rels"):
            if str(rel.get("Type", "")).endswith("/officeDocument") and rel.get("Target"):
                target = str(rel.get("Target")).lstrip("/")
                break
    parts = _parts(path, target)
    if target not in parts:
        raise ExchangeFileError(f"it has no document part {target!r}; it is not a Word file")
    return parse_xml_safely(parts[target], name=f"{path}:{target}")


def _parts(path: Path, member: str) -> dict[str, bytes]:
    """One part of the package, inflated under the Word archive policy (:data:`~qualcode.io.safe.WORD_LIMITS`).

    Only that part is inflated; one over its budget is refused before lxml
    sees a byte of it, with the policy's message (file, part, what to do).
    """
    try:
        return read_zip_safely(path, limits=WORD_LIMITS, wanted=lambda name: name == member)
    except ExchangeFileError as exc:
        raise TranscriptFormatError(str(exc), path=path) from None


def _local(el: etree._Element) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag.rsplit("}", 1)[-1]


def _key(el: etree._Element) -> str:
    """``w:p`` for a paragraph in either OOXML flavour; ``?:name`` for other namespaces."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return f"{_PREFIX.get(namespace, '?')}:{local}"
    return tag


def _attr(el: etree._Element, local: str) -> str | None:
    for name, value in el.attrib.items():
        if name.rsplit("}", 1)[-1] == local:
            return str(value)
    return None


def _on(el: etree._Element) -> bool:
    """An on/off property (``<w:b/>``, ``<w:vanish w:val="0"/>``) is on unless its value says off."""
    return (_attr(el, "val") or "true").lower() not in ("0", "false", "off")


def _child(el: etree._Element, key: str) -> etree._Element | None:
    return next((c for c in el if _key(c) == key), None)


def _branch(alternate: etree._Element) -> etree._Element | None:
    """The one branch of ``mc:AlternateContent`` to read: the first Choice, else the Fallback."""
    choice = _child(alternate, "mc:Choice")
    return choice if choice is not None else _child(alternate, "mc:Fallback")


class _Walker:
    """Walks a document body once; counts what the report must mention."""

    def __init__(self) -> None:
        # One entry per open complex field: "code" until its separator, then "result".
        self.fields: list[str] = []
        self.counts: Counter[str] = Counter()
        self.comments: set[str] = set()
        self.headers: list[str] = []
        # Per open table cell: does its row have other cells? A table nested in such a cell is
        # part of that cell's speech, not rows of turns.
        self.cells: list[bool] = []

    # -- blocks ------------------------------------------------------------------------------
    def blocks(self, container: etree._Element) -> list[str]:
        """Block-level content (body, cell, text box, content control) → texts in order."""
        out: list[str] = []
        carry = ""
        for el in self._block_items(container):
            key = _key(el)
            if key == "w:p":
                text, joins_next, floating = self._paragraph(el)
                if joins_next:
                    carry += text
                else:
                    out.append(carry + text)
                    carry = ""
                out.extend(floating)
            elif key == "w:tbl":
                if carry:
                    out.append(carry)
                    carry = ""
                out.extend(self._table(el))
        if carry:
            out.append(carry)
        return out

    def _block_items(self, container: etree._Element) -> Iterator[etree._Element]:
        for el in container:
            key = _key(el)
            if key in ("w:p", "w:tbl"):
                yield el
            elif key == "w:sdt":
                content = _child(el, "w:sdtContent")
                if content is not None:
                    yield from self._block_items(content)
            elif key in ("w:customXml", *_ACCEPTED):
                yield from self._block_items(el)
            elif key == "mc:AlternateContent":
                branch = _branch(el)
                if branch is not None:
                    yield from self._block_items(branch)
            elif key == "w:altChunk":
                self.counts["altChunk"] += 1

    def _paragraph(self, p: etree._Element) -> tuple[str, bool, list[str]]:
        """Text of a paragraph, whether its mark was deleted (it joins the next), and its text boxes."""
        parts: list[str] = []
        floating: list[str] = []
        joins_next = False
        for el in p:
            if _key(el) == "w:pPr":
                marks = _child(el, "w:rPr")
                if marks is not None:
                    joins_next = any(_key(m) in _REJECTED for m in marks)
                    self.counts["w:del"] += joins_next
                continue
            self._inline(el, parts, floating)
        return "".join(parts), joins_next, floating

    # -- inline ------------------------------------------------------------------------------
    def _inline(self, el: etree._Element, parts: list[str], floating: list[str]) -> None:
        key = _key(el)
        if key == "w:r":
            self._run(el, parts, floating)
        elif key in _PASS_INLINE:
            for child in el:
                self._inline(child, parts, floating)
        elif key in _ACCEPTED:
            self.counts[key] += 1
            for child in el:
                self._inline(child, parts, floating)
        elif key in _REJECTED:
            self.counts[key] += 1
        elif key == "w:sdt":
            content = _child(el, "w:sdtContent")
            for child in content if content is not None else ():
                self._inline(child, parts, floating)
        elif key == "w:ruby":
            base = _child(el, "w:rubyBase")
            for child in base if base is not None else ():
                self._inline(child, parts, floating)
        elif key == "mc:AlternateContent":
            branch = _branch(el)
            for child in branch if branch is not None else ():
                self._inline(child, parts, floating)
        elif key in ("m:oMath", "m:oMathPara"):
            if self._showing():
                parts.append("".join(t.text or "" for t in el.iter() if _key(t) == "m:t"))
        elif key in ("w:commentRangeStart",):
            self.comments.add(_attr(el, "id") or "")

    def _showing(self) -> bool:
        """Outside every field instruction (nested fields: each level must be in its result)."""
        return all(state == "result" for state in self.fields)

    def _run(self, run: etree._Element, parts: list[str], floating: list[str]) -> None:
        props = _child(run, "w:rPr")
        hidden = props is not None and any(_key(p) == "w:vanish" and _on(p) for p in props)
        if hidden and any(_key(c) == "w:t" and c.text for c in run):
            self.counts["hidden"] += 1
        self._run_content(run, parts, floating, hidden)

    def _run_content(self, run: etree._Element, parts: list[str], floating: list[str], hidden: bool) -> None:
        for el in run:
            key = _key(el)
            if key == "w:fldChar":
                kind = _attr(el, "fldCharType")
                if kind == "begin":
                    self.fields.append("code")
                elif kind == "separate" and self.fields:
                    self.fields[-1] = "result"
                elif kind == "end" and self.fields:
                    self.fields.pop()
                continue
            if key in _NOTE_MARKS:
                if key == "w:commentReference":
                    self.comments.add(_attr(el, "id") or "")
                else:
                    self.counts[_NOTE_MARKS[key]] += 1
                continue
            if hidden or not self._showing():
                continue
            if key == "w:t":
                parts.append(el.text or "")
            elif key in ("w:tab", "w:ptab"):
                parts.append("\t")
            elif key in ("w:br", "w:cr"):
                parts.append("\n")
            elif key == "w:noBreakHyphen":
                parts.append("-")
            elif key == "w:sym":
                parts.append(self._symbol(el))
            elif key in ("w:drawing", "w:pict", "w:object"):
                floating.extend(self._text_boxes(el))
            elif key == "mc:AlternateContent":
                branch = _branch(el)
                if branch is not None:
                    self._run_content(branch, parts, floating, hidden)
            elif key == "w:ruby":  # Word writes ruby inside a run; its base holds runs of its own
                base = _child(el, "w:rubyBase")
                for child in base if base is not None else ():
                    self._inline(child, parts, floating)
            # w:delText, w:instrText, w:softHyphen, w:lastRenderedPageBreak...: nothing Word shows as text.

    def _symbol(self, el: etree._Element) -> str:
        try:
            code = int(_attr(el, "char") or "", 16)
        except ValueError:
            return ""
        if 0xF000 <= code <= 0xF0FF or not 0x20 <= code <= 0x10FFFF:
            # A picture from a symbol font (Wingdings, Symbol): no character stands for it.
            self.counts["symbol"] += 1
            return ""
        return chr(code)

    def _text_boxes(self, el: etree._Element) -> list[str]:
        out: list[str] = []
        for child in el:
            key = _key(child)
            if key == "w:txbxContent":
                self.counts["textbox"] += 1
                out.extend(self.blocks(child))
            elif key == "mc:AlternateContent":
                branch = _branch(child)
                if branch is not None:
                    out.extend(self._text_boxes(branch))
            else:
                out.extend(self._text_boxes(child))
        return out

    # -- tables ------------------------------------------------------------------------------
    def _items(self, el: etree._Element, key: str) -> Iterator[etree._Element]:
        """Rows of a table or cells of a row, also inside content controls and custom XML."""
        for child in el:
            child_key = _key(child)
            if child_key == key:
                yield child
            elif child_key == "w:sdt":
                content = _child(child, "w:sdtContent")
                if content is not None:
                    yield from self._items(content, key)
            elif child_key in ("w:customXml", *_ACCEPTED):
                yield from self._items(child, key)

    def _table(self, table: etree._Element) -> list[str]:
        rows: list[tuple[list[list[str]], bool, bool]] = []
        # The blocks of the cell that started a vertical merge, by the grid column it starts at.
        restarted: dict[int, list[str]] = {}
        for tr in self._items(table, "w:tr"):
            props = _child(tr, "w:trPr")
            marked = False
            grid = 0
            if props is not None:
                if any(_key(p) in _REJECTED for p in props):
                    self.counts["w:del"] += 1
                    continue
                marked = any(_key(p) == "w:tblHeader" and _on(p) for p in props)
                grid = _grid_count(_child(props, "w:gridBefore"), 0)
            cells: list[list[str]] = []
            columns = list(self._items(tr, "w:tc"))
            for number, tc in enumerate(columns):
                props = _child(tc, "w:tcPr")
                column, grid = grid, grid + _grid_count(None if props is None else _child(props, "w:gridSpan"), 1)
                if props is not None and any(_key(p) == "w:cellDel" for p in props):
                    continue
                merge = None if props is None else _child(props, "w:vMerge")
                self.cells.append(len(columns) > 1)
                blocks = self.blocks(tc)
                self.cells.pop()
                if merge is None or _attr(merge, "val") == "restart":
                    restarted[column] = blocks
                elif not any(b.strip() for b in blocks) and number < len(columns) - 1:
                    # A speaker (or time) cell merged down over several rows: each row is that speaker's turn.
                    # Only a label is repeated, and never the last cell: repeating speech would double its words.
                    above = restarted.get(column, [])
                    text = "\n".join(b.strip() for b in above if b.strip())
                    if _speaker_like(text) or _TIME_CELL.fullmatch(text):
                        blocks = above
                cells.append(blocks)
            rows.append((cells, marked, self._bold(tr)))
        out: list[str] = []
        if self.cells and self.cells[-1]:
            for cells, _, _ in rows:
                line = " ".join(b.strip() for cell in cells for b in cell if b.strip())
                if line:
                    out.append(line)
            return out
        leading = True
        for cells, marked, bold in rows:
            texts = ["\n".join(b.strip() for b in cell if b.strip()) for cell in cells]
            filled = [t for t in texts if t]
            if leading and _is_header(filled, marked, bold):
                self.headers.append(" | ".join(filled))
                continue
            leading = False
            if len(filled) >= 2:
                out.append(_row_block(filled))
            elif filled:
                out.extend(b for cell in cells for b in cell)
        return out

    def _bold(self, row: etree._Element) -> bool:
        """Every run with text in the row is bold (direct formatting)."""
        runs = [r for r in row.iter() if _key(r) == "w:r" and any(_key(c) == "w:t" and c.text for c in r)]
        for run in runs:
            props = _child(run, "w:rPr")
            if props is None or not any(_key(p) == "w:b" and _on(p) for p in props):
                return False
        return bool(runs)

    # -- report ------------------------------------------------------------------------------
    def report(self) -> tuple[list[str], list[str]]:
        """``(notes, warnings)`` for the load report."""
        notes: list[str] = []
        warnings: list[str] = []
        counts = self.counts
        inserted = counts["w:ins"]
        deleted = counts["w:del"]
        moved = counts["w:moveTo"] + counts["w:moveFrom"]
        if inserted or deleted or moved:
            what = [f"{inserted} insertion(s) kept", f"{deleted} deletion(s) left out"]
            if moved:
                what.append(f"{counts['w:moveTo'] or counts['w:moveFrom']} move(s) read at their new place")
            warnings.append(
                "Word tracked changes read as if accepted (" + ", ".join(what) + "); if the transcript "
                "should read otherwise, accept or reject the changes in Word (Review > Accept/Reject) and save")
        if counts["hidden"]:
            warnings.append(f"{counts['hidden']} run(s) of hidden text (Font > Hidden) left out, as Word shows "
                            "the page; unhide them in Word if they are part of the transcript")
        if counts["altChunk"]:
            warnings.append(f"{counts['altChunk']} embedded document(s) (altChunk) not read; open the file in "
                            "Word and save it again to merge them into the transcript")
        for header in self.headers:
            notes.append(f"table header row '{header}' not read as a turn")
        if counts["textbox"]:
            notes.append(f"{counts['textbox']} text box(es) read after the paragraph that holds them")
        kinds = [(counts["footnote"], "footnote(s)"), (counts["endnote"], "endnote(s)"),
                 (len(self.comments), "comment(s)")]
        present = [f"{n} {what}" for n, what in kinds if n]
        if present:
            notes.append(f"{', '.join(present)} not read: notes and comments are not transcript text")
        if counts["symbol"]:
            notes.append(f"{counts['symbol']} symbol-font picture(s) (Wingdings, Symbol) left out")
        return notes, warnings


def _is_header(cells: list[str], marked: bool, bold: bool) -> bool:
    """A leading row of column titles (``Hablante | Intervención``), not a turn."""
    if not cells or any(len(c) > 40 or len(c.split()) > 4 or "\n" in c or c[-1] in ".?!…" for c in cells):
        return False
    titled = sum(fold_label(c).strip(" :") in _COLUMN_TITLES for c in cells)
    return marked or titled == len(cells) or (bold and 2 * titled >= len(cells))


def _row_block(cells: list[str]) -> str:
    """A table row as a transcript line: ``Speaker: speech``, with a time-mark column kept as a time mark."""
    first, rest = cells[0], cells[1:]
    if _TIME_CELL.fullmatch(first) and len(rest) >= 2 and _speaker_like(rest[0]):
        return f"[{first.strip('[]()')}] {rest[0]}: {' '.join(rest[1:])}"
    if _speaker_like(first) and len(rest) >= 2 and _TIME_CELL.fullmatch(rest[0]):
        return f"{first} ({rest[0].strip('[]()')}): {' '.join(rest[1:])}"
    if _speaker_like(first):
        return f"{first}: {' '.join(rest)}"
    return " ".join(cells)


def _grid_count(el: etree._Element | None, default: int) -> int:
    """The ``w:val`` of a ``w:gridSpan`` / ``w:gridBefore`` (grid columns), ``default`` if absent or unreadable."""
    try:
        value = int(_attr(el, "val") or "") if el is not None else default
    except ValueError:
        return default
    return max(value, default)


def _speaker_like(cell: str) -> bool:
    return len(cell) <= 48 and ":" not in cell and "\n" not in cell
