"""The wheel carries every package, the shipped codebooks and the REFI-QDA schemas."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
tomllib = pytest.importorskip("tomllib")


def test_every_package_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "qualcode").rglob("__init__.py")}
    assert found | {"qualcode.codebooks"} == listed


def test_shipped_codebooks_are_mapped_into_the_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["tool"]["setuptools"]["package-dir"]["qualcode.codebooks"] == "codebooks"
    assert (ROOT / "qualcode" / "_data" / "refi" / "Codebook.xsd").exists()
