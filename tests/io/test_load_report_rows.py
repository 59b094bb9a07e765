"""The load report's rows: the file named once per message, and the ``line`` column filled (issue 16)."""

from __future__ import annotations

from pathlib import Path

import qualcode as qc

REAL = Path(__file__).parents[1] / "data" / "real"


def test_load_report_names_the_file_once_in_every_message(tmp_path):
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes("E: ¿Cómo?\n".encode() + "D1: Después.\n".encode("cp1252")
                      + "E: ¿Y?\nD1: Sí.\n".encode())
    _, report = qc.load_corpus([mixed, REAL / "tracked_changes.docx"])
    for row, name in zip(report.itertuples(), ["mixed.txt", "tracked_changes.docx"]):
        assert row.message.count(name) == 1, row.message
    assert report.iloc[0]["message"].startswith(f"{mixed}: line 2: not UTF-8")
    assert "tracked_changes.docx: Word tracked changes read as if accepted" in report.iloc[1]["message"]


def test_load_report_line_column_holds_the_first_line_the_message_is_about(tmp_path):
    mixed = tmp_path / "mixed.txt"
    mixed.write_bytes("E: ¿Cómo?\n".encode() + "D1: Después.\n".encode("cp1252")
                      + "E: ¿Y?\nD1: Sí.\n".encode())
    bad = tmp_path / "bad.srt"
    bad.write_text("1\n00:00:01,000 --> 00:00:02,000\nHola.\n\n2\n00:00:03 --> 00:00:04,000\nChao.\n", encoding="utf-8")
    clean = tmp_path / "clean.txt"
    clean.write_text("E: ¿Cómo?\nD1: Bien.\n", encoding="utf-8")
    _, report = qc.load_corpus([mixed, REAL / "label_once_grupo_focal.txt", bad, clean])
    rows = report.set_index(report["path"].map(lambda p: Path(p).name))
    assert rows.loc["mixed.txt", "line"] == 2
    once = rows.loc["label_once_grupo_focal.txt"]
    assert "is used once" in once["message"]
    assert once["line"] == int(once["message"].split("line ", 1)[1].split(":")[0])
    assert rows.loc["bad.srt", "status"] == "error" and rows.loc["bad.srt", "line"] == 6
    assert str(rows.loc["clean.txt", "line"]) == "<NA>"  # nothing is about a line


def test_a_text_transcript_is_read_from_disk_once(tmp_path, monkeypatch):
    (tmp_path / "uno.txt").write_text("E: ¿Cómo parte el día?\nD1: Con el WhatsApp de la red.\n", encoding="utf-8")
    (tmp_path / "dos.srt").write_text("1\n00:00:01,000 --> 00:00:03,000\nE: ¿Y la red?\n\n"
                                      "2\n00:00:04,000 --> 00:00:06,000\nD1: Nos salva.\n", encoding="utf-8")
    before, _ = qc.load_corpus(tmp_path)
    reads: list[str] = []
    original = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    corpus, report = qc.load_corpus(tmp_path)
    assert sorted(reads) == ["dos.srt", "uno.txt"]
    assert corpus.documents.equals(before.documents) and corpus.segments.equals(before.segments)
    assert (report["status"] == "ok").all()
