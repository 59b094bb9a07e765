"""Shared fixtures: sample data paths and small file factories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples"

settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def samples() -> Path:
    """The shipped sample data folder."""
    return SAMPLES


@pytest.fixture
def write(tmp_path: Path):
    """Write ``content`` (str or bytes) to ``tmp_path/name`` and return the path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_bytes(content.encode(encoding))
        else:
            path.write_bytes(content)
        return path

    return _write


@pytest.fixture
def make_docx():
    """Build a real Word file: ``make_docx(path, paragraphs)``."""
    return _make_docx


def _make_docx(path: Path, paragraphs: list[str]) -> Path:
    """A real Word file with one paragraph per item (``**x**`` at the start becomes a bold run)."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        paragraph = document.add_paragraph()
        if text.startswith("**") and "**" in text[2:]:
            bold, rest = text[2:].split("**", 1)
            paragraph.add_run(bold).bold = True
            paragraph.add_run(rest)
        else:
            paragraph.add_run(text)
    document.save(str(path))
    return path


@pytest.fixture(scope="session")
def sample_corpus():
    """The sample transcripts with attributes, loaded once."""
    import qualcode as qc

    corpus, _ = qc.load_corpus(SAMPLES / "transcripts", attributes=SAMPLES / "attributes.csv")
    return corpus


@pytest.fixture(scope="session")
def study_codebook():
    import qualcode as qc

    return qc.load_codebook("nic_study")


@pytest.fixture
def project(tmp_path, sample_corpus, study_codebook):
    """A fresh project file with the sample corpus and the study codebook."""
    from qualcode.project import Project

    p = Project.create(tmp_path / "study.qualcode")
    p.add_corpus(sample_corpus)
    p.add_codebook(study_codebook)
    yield p
    p.close()


@pytest.fixture
def alarm():
    """Fail, instead of hanging the suite, if the test takes more than 30 s (a FIFO read, a backtracking regex)."""
    import signal

    def fail(*_: object) -> None:
        raise TimeoutError("took more than 30 s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
