"""Word tables with merged cells in any column, and ruby inside runs: no word lost, none doubled (issue 21).

The fuzzer (tests/test_fuzz_readers.py) found a speaker cell merged down (``w:vMerge``) behind a time column
losing its speaker on the rows it spans, and ``w:ruby`` inside a run (where Word writes it) losing its base
text. These are other shapes of the same two kinds: merges placed by the table grid (``w:gridBefore``,
``w:gridSpan``), explicit ``continue`` values, speech merged down, and ruby in links, cells, insertions and
hidden runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qualcode.io.docx import read_docx

NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def word_file(path: Path, body: str) -> Path:
    """A real .docx (python-docx's template) whose body is ``body``, raw WordprocessingML."""
    import docx
    from lxml import etree

    document = docx.Document()
    section = document.element.body[-1]
    for child in list(etree.fromstring(f"<w:body {NS}>{body}</w:body>")):
        section.addprevious(child)
    document.save(str(path))
    return path


def r(text: str, props: str = "") -> str:
    return f'<w:r>{f"<w:rPr>{props}</w:rPr>" if props else ""}<w:t xml:space="preserve">{text}</w:t></w:r>'


def tc(text: str = "", *, merge: str | None = None, span: str | None = None) -> str:
    """A cell; ``merge`` is the w:vMerge value ("" for a bare continuation), ``span`` its w:gridSpan."""
    props = ""
    if span is not None:
        props += f'<w:gridSpan w:val="{span}"/>'
    if merge is not None:
        props += f'<w:vMerge w:val="{merge}"/>' if merge else "<w:vMerge/>"
    return f"<w:tc>{f'<w:tcPr>{props}</w:tcPr>' if props else ''}<w:p>{r(text) if text else ''}</w:p></w:tc>"


def tr(*cells: str, before: int | None = None) -> str:
    props = f'<w:trPr><w:gridBefore w:val="{before}"/></w:trPr>' if before is not None else ""
    return f"<w:tr>{props}{''.join(cells)}</w:tr>"


def text_of(tmp_path: Path, body: str) -> list[str]:
    return read_docx(word_file(tmp_path / "entrevista.docx", body)).text.split("\n\n")


# ------------------------------------------------------------------------------------------------ merged cells


@pytest.mark.parametrize("continuation", ["", "continue"])
def test_docx_speaker_cell_merged_down_behind_a_time_column_labels_every_row(tmp_path, continuation):
    body = ("<w:tbl>" + tr(tc("00:01:02"), tc("D3", merge="restart"), tc("Muy sola al principio."))
            + tr(tc("00:01:09"), tc(merge=continuation), tc("Después no."))
            + tr(tc("00:01:10"), tc(merge=continuation), tc("Ya no."))
            + tr(tc("00:01:12"), tc("E"), tc("¿Y la red?")) + "</w:tbl>")
    assert text_of(tmp_path, body) == ["[00:01:02] D3: Muy sola al principio.", "[00:01:09] D3: Después no.",
                                       "[00:01:10] D3: Ya no.", "[00:01:12] E: ¿Y la red?"]


def test_docx_speaker_cell_merged_down_before_a_time_column_labels_every_row(tmp_path):
    body = ("<w:tbl>" + tr(tc("D3", merge="restart"), tc("00:01:02"), tc("Muy sola."))
            + tr(tc(merge=""), tc("00:01:09"), tc("Después no.")) + "</w:tbl>")
    assert text_of(tmp_path, body) == ["D3 (00:01:02): Muy sola.", "D3 (00:01:09): Después no."]


def test_docx_merged_cell_is_found_by_grid_column_after_grid_before(tmp_path):
    # The second row leaves out its time cell (w:gridBefore="1"): its first cell is the speaker's continuation.
    body = ("<w:tbl>" + tr(tc("00:01:02"), tc("D3", merge="restart"), tc("Muy sola."))
            + tr(tc(merge=""), tc("Después no."), before=1) + "</w:tbl>")
    assert text_of(tmp_path, body) == ["[00:01:02] D3: Muy sola.", "D3: Después no."]


def test_docx_merged_cell_is_found_by_grid_column_after_a_spanning_cell(tmp_path):
    # A time cell two grid columns wide in the first row; the second row has two narrow cells there.
    body = ("<w:tbl>" + tr(tc("00:01:02", span="2"), tc("D3", merge="restart"), tc("Muy sola."))
            + tr(tc("00:01:09"), tc(), tc(merge=""), tc("Después no.")) + "</w:tbl>")
    assert text_of(tmp_path, body) == ["[00:01:02] D3: Muy sola.", "[00:01:09] D3: Después no."]


def test_docx_two_merges_side_by_side_each_continue_their_own_column(tmp_path):
    body = ("<w:tbl>" + tr(tc("00:01:02", merge="restart"), tc("D3", merge="restart"), tc("Muy sola."))
            + tr(tc(merge=""), tc(merge=""), tc("Después no."))
            + tr(tc("00:02:00"), tc(merge=""), tc("Ya no.")) + "</w:tbl>")
    assert text_of(tmp_path, body) == ["[00:01:02] D3: Muy sola.", "[00:01:02] D3: Después no.",
                                       "[00:02:00] D3: Ya no."]


def test_docx_speech_merged_down_is_read_once(tmp_path):
    body = ("<w:tbl>" + tr(tc("D3"), tc("Muy sola al principio.", merge="restart"))
            + tr(tc("D3"), tc(merge="")) + tr(tc("E"), tc("¿Y la red?")) + "</w:tbl>")
    text = "\n\n".join(text_of(tmp_path, body))
    assert text.count("Muy sola al principio.") == 1
    assert "E: ¿Y la red?" in text


def test_docx_continuation_cell_with_its_own_text_keeps_it(tmp_path):
    body = ("<w:tbl>" + tr(tc("00:01:02"), tc("D3", merge="restart"), tc("Muy sola."))
            + tr(tc("00:01:09"), tc("D4", merge=""), tc("Después no.")) + "</w:tbl>")
    assert text_of(tmp_path, body) == ["[00:01:02] D3: Muy sola.", "[00:01:09] D4: Después no."]


@pytest.mark.parametrize("span", ["abc", "-3", "0", "99999", ""])
def test_docx_unreadable_grid_span_keeps_every_word(tmp_path, span):
    body = ("<w:tbl>" + tr(tc("00:01:02", span=span), tc("D3", merge="restart"), tc("Muy sola."))
            + tr(tc("00:01:09"), tc(merge=""), tc("Después no.")) + "</w:tbl>")
    text = "\n\n".join(text_of(tmp_path, body))
    for word in ("00:01:02", "D3", "Muy sola.", "00:01:09", "Después no."):
        assert word in text


# -------------------------------------------------------------------------------------------------------- ruby


def ruby(base: str, guide: str = "とうきょう") -> str:
    return f"<w:ruby><w:rt>{r(guide)}</w:rt><w:rubyBase>{base}</w:rubyBase></w:ruby>"


INSERTED = f'<w:ins w:id="1" w:author="A">{r("東京")}</w:ins>'


@pytest.mark.parametrize(("shape", "paragraph"), [
    ("inside a run", f"<w:p>{r('D6: ')}<w:r>{ruby(r('東京'))}</w:r>{r(' sí.')}</w:p>"),
    ("base of two runs", f"<w:p>{r('D6: ')}<w:r>{ruby(r('東') + r('京'))}</w:r>{r(' sí.')}</w:p>"),
    ("in a link", f"<w:p>{r('D6: ')}<w:hyperlink><w:r>{ruby(r('東京'))}</w:r></w:hyperlink>{r(' sí.')}</w:p>"),
    ("base inserted", f"<w:p>{r('D6: ')}<w:r>{ruby(INSERTED)}</w:r>{r(' sí.')}</w:p>"),
    ("with run properties", f"<w:p>{r('D6: ')}<w:r><w:rPr><w:b/></w:rPr>{ruby(r('東京'))}</w:r>{r(' sí.')}</w:p>"),
    ("between runs", f"<w:p>{r('D6: ')}{ruby(r('東京'))}{r(' sí.')}</w:p>"),
])
def test_docx_ruby_inside_a_run_keeps_its_base_text(tmp_path, shape, paragraph):
    assert text_of(tmp_path, paragraph) == ["D6: 東京 sí."]


def test_docx_ruby_in_a_table_cell_keeps_its_base_text(tmp_path):
    body = "<w:tbl>" + tr(tc("D6"), f"<w:tc><w:p>{r('Vivo en ')}<w:r>{ruby(r('東京'))}</w:r></w:p></w:tc>") + "</w:tbl>"
    assert text_of(tmp_path, body) == ["D6: Vivo en 東京"]


def test_docx_ruby_without_a_base_keeps_the_rest_of_the_run(tmp_path):
    paragraph = f"<w:p>{r('D6: ')}<w:r><w:ruby><w:rt>{r('とうきょう')}</w:rt></w:ruby><w:t>sí.</w:t></w:r></w:p>"
    assert text_of(tmp_path, paragraph) == ["D6: sí."]


def test_docx_ruby_in_a_hidden_run_is_left_out_like_hidden_text(tmp_path):
    paragraph = f"<w:p>{r('D6: ')}<w:r><w:rPr><w:vanish/></w:rPr>{ruby(r('東京'))}</w:r>{r('sí.')}</w:p>"
    assert text_of(tmp_path, paragraph) == ["D6: sí."]
