"""Characters a format forbids never crash a writer: replaced the same way everywhere, and reported
(cases real-transcripts 07, hostile 10, interop C11)."""

from __future__ import annotations

import shutil
import warnings
import zipfile
from pathlib import Path

import openpyxl

import qualcode as qc
from qualcode.errors import ReplacedCharactersWarning
from qualcode.export.refi_qda import validate_qde
from qualcode.project import Project

DATA = Path(__file__).resolve().parents[1] / "data" / "control_chars"


def odd_project(folder: Path) -> Project:
    """The case's transcript (bell, U+FFFF, trailing DOS EOF), a file named with ESC holding ESC, U+FFFE and a NUL
    after 8 KiB, a code label with Word's U+000B, memos with a bell and a NUL; every participant turn coded."""
    docs = folder / "docs"
    docs.mkdir(parents=True)
    shutil.copy(DATA / "entrevista_d6.txt", docs / "entrevista_d6.txt")
    (docs / "entrevista\x1b7.txt").write_text(
        "ENTREVISTADORA: ¿Cómo colaboran?\nDIRECTORA: Colaboramos con confianza.\n" * 120
        + "DIRECTORA: colaboramos \x1b[1m mucho \ufffe y\x00 con la red.\n", encoding="utf-8")
    book = (Path(qc.__file__).parents[1] / "codebooks" / "leadership.yaml").read_text(encoding="utf-8")
    book = book.replace('label: {es: "Carga de trabajo y tiempo", en: "Workload and time"}',
                        'label: {es: "Carga\\vde trabajo", en: "Work\\vload"}')
    (folder / "cb.yaml").write_text(book, encoding="utf-8")
    project = Project.create(folder / "p.qualcode")
    codebook = qc.load_codebook(folder / "cb.yaml")
    project.add_codebook(codebook)
    project.add_corpus(qc.load_corpus(docs)[0])
    seg = project.segments
    ids = list(seg[seg.speaker_role == "participant"].segment_id)
    odd = [c.id for c in codebook if "\v" in (c.label["es"] or "")]
    assert odd, "the codebook keeps the label's U+000B"
    project.add_manual(ids, odd[0], coder="ana", memo="nota\x07 con campana")
    project.add_manual(ids[:1], codebook.dimensions[0], coder="bea", memo="nul\x00")
    return project


def test_a_trailing_dos_eof_is_not_part_of_the_last_quote():
    corpus, _ = qc.load_corpus([DATA / "entrevista_d6.txt"])
    assert corpus.segments["text"].iloc[-1] == "@Carla me ayudó mucho con eso."
    assert "\x1a" not in corpus.documents["text"].iloc[0]


def test_every_writer_writes_odd_characters_replaced_the_same_way_and_reported(tmp_path):
    project = odd_project(tmp_path)
    out = tmp_path / "out"
    written: dict[str, list] = {}

    def write(name, call):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        written[name] = [w.message for w in caught if issubclass(w.category, ReplacedCharactersWarning)]
        others = [w for w in caught if not issubclass(w.category, ReplacedCharactersWarning)]
        assert not others, [str(w.message) for w in others]

    write("informe.xlsx", lambda: written.setdefault("tables", qc.export_report(project, out / "informe.xlsx")))
    write("revision.xlsx", lambda: qc.export_review_sheet(project, None, out / "revision.xlsx", coder="ana"))
    write("estudio.qdpx", lambda: qc.export_refi_qda(project, out / "estudio.qdpx"))
    write("tablas", lambda: qc.export_tables(written["tables"], out / "tablas"))
    write("cb.qdc", lambda: qc.save_codebook(project.codebook(), out / "cb.qdc"))
    write("cb.xlsx", lambda: qc.save_codebook(project.codebook(), out / "cb.xlsx"))

    # Each file written, and each says how many characters were replaced and where (never the words).
    for name in ("informe.xlsx", "revision.xlsx", "estudio.qdpx", "tablas", "cb.qdc", "cb.xlsx"):
        assert written[name], f"{name}: no replacement reported"
        for message in written[name]:
            assert message.count > 0 and message.places and "replaced by" in str(message)
            assert "Carla" not in str(message) and "campana" not in str(message)
    assert "chart labels" in written["informe.xlsx"][0].places  # the document named with ESC, on the x axis
    review = {str(m.path): m for m in written["revision.xlsx"]}[str(out / "revision.xlsx")]
    assert any(p.startswith("sheet 'revision' cell") for p in review.places)
    qdpx = written["estudio.qdpx"][0]
    assert {"memos", "document names", "coded selections' names", "code names"} <= set(qdpx.places)

    # The same replacement everywhere: a space for each character, nothing else touched.
    quote = "Unos 12 ° en invierno, imagínese; los niños con parka adentro."
    report = openpyxl.load_workbook(out / "informe.xlsx")
    cells = [c.value for ws in report.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert quote in cells and "nota  con campana" in cells
    assert "La planilla decía   y nadie entendía." in " ".join(cells)
    sheet = openpyxl.load_workbook(out / "revision.xlsx")["revision"]
    assert quote in [c.value for row in sheet.iter_rows() for c in row]
    with zipfile.ZipFile(out / "estudio.qdpx") as archive:
        qde = archive.read("project.qde")
        assert validate_qde(qde) == []
        assert "nota  con campana" in qde.decode("utf-8") and "Carga de trabajo" in qde.decode("utf-8")
    reimported = qc.import_refi_qda(out / "estudio.qdpx", tmp_path / "reimported.qualcode")
    assert len(qc.decisions(reimported)) == len(qc.decisions(project))
    assert sorted(reimported.segments["text"]) == sorted(project.segments["text"])  # the sources are exact
    reimported.close()
    project.close()


def test_report_command_writes_every_output_and_shows_the_replacements(tmp_path):
    from typer.testing import CliRunner

    from qualcode.cli import app

    odd_project(tmp_path).close()
    result = CliRunner().invoke(app, ["report", str(tmp_path / "p.qualcode"), str(tmp_path / "informe.xlsx"),
                                      "--qdpx", str(tmp_path / "e.qdpx"), "--csv", str(tmp_path / "tablas")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "informe.xlsx").exists() and (tmp_path / "e.qdpx").exists() and list((tmp_path / "tablas").glob("*.csv"))
    assert f"warning: {tmp_path / 'informe.xlsx'}: " in result.output
    assert f"warning: {tmp_path / 'e.qdpx'}: " in result.output and "replaced by spaces" in result.output
