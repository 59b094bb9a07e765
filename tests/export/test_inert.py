"""Every cell and every CSV field qualcode writes is inert in a spreadsheet (cases hostile 07, 08, 09; E1)."""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd

import qualcode as qc
from qualcode.export.refi_qda import validate_qde
from qualcode.io.cells import FORMULA_START
from qualcode.project import Project

DATA = Path(__file__).resolve().parents[1] / "data" / "hostile"
# = + - @ TAB CR: what a spreadsheet may read as the start of a formula.
PAYLOADS = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)", "\t=tab", "\r=cr"]


def csv_value(field):
    """What a CSV field written for reading back holds: one leading apostrophe comes off (io.cells.csv_value)."""
    return field[1:] if isinstance(field, str) and field.startswith("'") else field


def hostile_project(folder: Path) -> Project:
    """A study where every field a user controls starts with a formula character."""
    docs = folder / "docs"
    docs.mkdir(parents=True)
    names = ["=HYPERLINK(1)", "+doc", "-doc", "@doc", "\tdoc"]
    for k, name in enumerate(names):
        payload = PAYLOADS[k % len(PAYLOADS)]
        (docs / f"{name}.txt").write_text(
            f"ENTREVISTADORA: {PAYLOADS[(k + 1) % 6]} ¿Cómo colaboran?\n"
            f"=JEFA: {payload} colaboramos con confianza, juntas.\n"
            f"DIRECTORA: {PAYLOADS[(k + 2) % 6]} trabajamos juntas en la red.\n", encoding="utf-8")
    # Subtitles carry any speaker label in their voice tags.
    (docs / "@vtt.vtt").write_text("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v =JEFA>colaboramos con confianza, juntas."
                                   "\n\n00:00:05.000 --> 00:00:08.000\n<v +Rosa>@SUM(1+1) trabajamos juntas.\n",
                                   encoding="utf-8")
    names.append("@vtt")
    values = PAYLOADS[:5] + ["@y"]  # (a CR inside an attributes sheet cell is a line break to the reader)
    attributes = pd.DataFrame({"doc_id": names, "role": values, "=district": values[1:] + values[:1],
                               "stage": ["@final", "-inicial", "+x", "=y", "\tz", "-w"], "participant": values})
    attributes.to_csv(folder / "atributos.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qc.QualcodeWarning)
        corpus, _ = qc.load_corpus(docs, attributes=folder / "atributos.csv")
    project = Project.create(folder / "p.qualcode")
    project.add_codebook(qc.load_codebook(DATA / "formula_codebook.yaml"))
    project.add_corpus(corpus)
    seg = project.segments
    ids = list(seg[seg.speaker_role == "participant"].segment_id)
    for k, coder in enumerate(["+ana", "=HYPERLINK(\"x\",\"bea\")", "@carla", "-dani", "\tema"]):
        qc.accept(project, ids, "colab" if k % 2 else "colab.trust", coder=coder, memo=PAYLOADS[k])
    return project


def workbook_cells(path: Path):
    for ws in openpyxl.load_workbook(path).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                yield ws.title, cell


def test_every_written_cell_and_csv_field_is_inert(tmp_path):
    project = hostile_project(tmp_path)
    seg = project.segments
    # The fixture really is hostile: payloads reached ids, speakers, attributes, labels, coders and memos.
    assert any(d.startswith(FORMULA_START) for d in seg["doc_id"])
    assert any(str(c).startswith(FORMULA_START) for c in seg.columns)
    assert any(str(s).startswith(FORMULA_START) for s in seg["speaker"].dropna())
    assert any(str(c).startswith(FORMULA_START) for c in qc.decisions(project)["coder"])
    out = tmp_path / "out"
    suggestions = seg[["segment_id"]].assign(code_id="colab", score=0.5, method="keyword", evidence="=1+1")
    qc.export_review_sheet(project, suggestions, out / "revision.xlsx", coder='=HYPERLINK("http://evil.example","ana")')
    tables = qc.export_report(project, out / "informe.xlsx", charts=False,
                              by=("role", "=district", "stage", "participant"))
    qc.save_codebook(project.codebook(), out / "codebook.xlsx")
    csv_files = qc.export_tables(tables, out / "tablas")
    qc.export_tables(tables, out / "parquet", format="parquet")
    dumped = project.dump(out / "mirror")
    qc.Pseudonymizer(["=Marcela", "+Rosa", "@Inés", "-Ana"]).fit([]).save_mapping(out / "mapping.csv")
    qc.export_refi_qda(project, out / "estudio.qdpx")

    live, n_text = [], 0
    for name in ("revision.xlsx", "informe.xlsx", "codebook.xlsx"):
        for sheet, cell in workbook_cells(out / name):
            if cell.data_type == "f":
                live.append(f"{name} {sheet}!{cell.coordinate}: {cell.value!r}")
            n_text += isinstance(cell.value, str) and cell.value.startswith(FORMULA_START)
    assert live == []
    assert n_text > 100  # the payloads are there, as text
    hidden = openpyxl.load_workbook(out / "revision.xlsx")
    assert hidden["about"].sheet_state == "hidden" and hidden["codes"].sheet_state == "hidden"
    assert any(str(c.value).startswith("=HYPERLINK") for row in hidden["codes"].iter_rows() for c in row)

    unsafe, n_fields = [], 0
    csv_like = [*csv_files, *[p for p in dumped if p.suffix == ".csv"], out / "mapping.csv"]
    header = (out / "tablas" / "por_role.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "'=HYPERLINK" in header and "'@SUM" in header  # attribute values as column names, neutralised
    for path in csv_like:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for line, row in enumerate(csv.reader(handle), start=1):
                for field in row:
                    n_fields += 1
                    if field.startswith(FORMULA_START):
                        unsafe.append(f"{path.name} line {line}: {field[:30]!r}")
    assert unsafe == []
    assert n_fields > 500

    # The dump and the mapping are read back exactly.
    rebuilt = Project.load_dump(out / "mirror", tmp_path / "rebuilt.qualcode")
    def by_id(frame, key):  # (rows come back in the dump's order, not the order they were first added)
        return frame.sort_values(key).reset_index(drop=True)

    assert by_id(rebuilt.segments, "segment_id").equals(by_id(project.segments, "segment_id"))
    assert by_id(rebuilt.documents, "doc_id").equals(by_id(project.documents, "doc_id"))
    history = ["segment_id", "code_id", "coder", "decision", "memo", "created_at"]
    assert qc.decisions(rebuilt, history=True)[history].equals(qc.decisions(project, history=True)[history])
    rebuilt.dump(tmp_path / "mirror2")
    for path in dumped:
        assert (tmp_path / "mirror2" / path.name).read_bytes() == path.read_bytes()
    mapping = pd.read_csv(out / "mapping.csv", dtype=str).map(csv_value)
    assert sorted(mapping["name"]) == sorted(["=Marcela", "+Rosa", "@Inés", "-Ana"])

    # Parquet keeps the values typed and exact; the .qdpx is valid and holds the payloads as text.
    parquet = pd.read_parquet(next((out / "parquet").glob("frecuencias.parquet")))
    assert len(parquet)
    with zipfile.ZipFile(out / "estudio.qdpx") as archive:
        assert validate_qde(archive.read("project.qde")) == []
    rebuilt.close()
    project.close()


def test_csv_text_is_reversible_for_files_read_back():
    from qualcode.io.cells import csv_frame, csv_value

    values = ["'=x", "''", "'", "=x", "-1", "hola", "\t", "'hola", "a\x07b"]
    frame = pd.DataFrame({"'=col": values})
    text = csv_frame(frame, exact=True).to_csv(index=False)
    back = pd.read_csv(io.StringIO(text), dtype=object, keep_default_na=False)
    assert [csv_value(c) for c in back.columns] == ["'=col"]
    assert back.iloc[:, 0].map(csv_value).tolist() == values
