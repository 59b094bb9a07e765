"""The shipped codebooks of the reference study are complete in both languages."""

from __future__ import annotations

import pytest

import qualcode.codebook as cbm
from qualcode.errors import ParameterError

NAMES = ["improvement_science", "leadership", "collaboration"]


@pytest.fixture(scope="module")
def combined():
    return cbm.load_codebook("nic_study")


@pytest.mark.parametrize("name", NAMES)
def test_shipped_codebook_has_every_field_in_both_languages(name):
    codebook = cbm.load_codebook(name)
    assert codebook.dimensions == [name]
    for code in codebook:
        for lang in ("es", "en"):
            for field in ("label", "definition", "inclusion", "exclusion"):
                assert getattr(code, field)[lang].strip(), (code.id, field, lang)
            assert len(code.examples[lang]) >= 2, (code.id, lang)
            assert len(code.keywords[lang]) >= 3, (code.id, lang)
            assert all(len(example.split()) >= 6 for example in code.examples[lang]), (code.id, "examples are quotes")
        assert code.color and code.color.startswith("#")


def test_combined_codebook_includes_the_three_dimensions(combined):
    assert combined.dimensions == NAMES
    assert len(combined) == sum(len(cbm.load_codebook(n)) for n in NAMES)
    assert combined.to_frame()["code_id"].is_unique


def test_shipped_codebooks_cover_the_study_topics(combined):
    ids = set(combined.to_frame()["code_id"])
    for expected in ["improvement_science.pdsa", "improvement_science.problem.root_causes", "improvement_science.data",
                     "improvement_science.inquiry", "improvement_science.nic", "improvement_science.scaling",
                     "leadership.style.distributed", "leadership.style.hierarchical", "leadership.focus.pedagogical",
                     "leadership.focus.administrative", "leadership.support", "leadership.workload",
                     "leadership.resilience", "collaboration.levels.collegiality", "collaboration.building_blocks.trust",
                     "collaboration.isolation", "collaboration.belonging", "collaboration.channels",
                     "collaboration.meetings.online", "collaboration.identity.territorial", "collaboration.tensions"]:
        assert expected in ids, expected


def test_codebook_version_changes_with_content_only(combined, tmp_path):
    again = cbm.load_codebook("nic_study")
    assert again.version == combined.version
    edited = cbm.load_codebook("collaboration")
    edited.codes[1].keywords["es"].append("minga")
    assert edited.version != cbm.load_codebook("collaboration").version


def test_codebook_filters_to_a_dimension_and_a_language(combined):
    only = combined.filter(dimension="leadership", lang="en")
    frame = only.to_frame()
    assert set(frame["dimension"]) == {"leadership"}
    assert "label_en" in frame and "label_es" not in frame
    assert combined.children("leadership.style")[0].id == "leadership.style.distributed"
    with pytest.raises(ParameterError, match="unknown dimension"):
        combined.filter(dimension="ethics")
