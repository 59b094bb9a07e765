"""The review workbook written from data_samples/ converts in LibreOffice headless without errors."""

from __future__ import annotations

import shutil
import subprocess

import openpyxl
import pytest

import qualcode as qc

soffice = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
@pytest.mark.skipif(soffice is None, reason="LibreOffice is not installed (CI installs libreoffice-calc-nogui)")
def test_review_workbook_converts_headless_in_libreoffice(project, tmp_path):
    path = tmp_path / "revision.xlsx"
    segs = project.segments
    part = segs[segs["speaker_role"] == "participant"]
    import pandas as pd

    suggestions = pd.DataFrame({"segment_id": part["segment_id"], "code_id": "collaboration.isolation", "score": 0.5})
    qc.export_review_sheet(project, suggestions, path, coder="ana")
    profile = tmp_path / "lo-profile"
    result = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
         "--outdir", str(tmp_path / "out"), str(path)],
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    csv_text = (tmp_path / "out" / "revision.csv").read_text(encoding="utf-8")
    assert csv_text.count("\n") >= len(part)
    assert "cita" in csv_text.splitlines()[0]
    assert len(openpyxl.load_workbook(path).worksheets[0].data_validations.dataValidation) == 2
