"""R3: a transcript corrected after coding began — decisions re-anchor to the same words or are reported."""

from __future__ import annotations

import qualcode as qc
from qualcode.project import Project
from qualcode.review.decisions import add_manual, coded_quotes, decisions

ORIGINAL = """E: ¿Cómo fue el primer año en la red?
D1: Al principio me sentía muy sola, nadie entendía lo que era dirigir un jardín.
E: ¿Y con las colegas?
D1: Con el grupo de WhatsApp empezamos a compartir materiales y a pedir ayuda.
E: ¿Algo más?
D1: El Servicio Local nos pedía informes todo el tiempo y no alcanzaba a entrar a las salas.
"""


def load(tmp_path, name, text):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "d01.txt").write_text(text, encoding="utf-8")
    return qc.load_corpus(folder)[0]


def coded_project(tmp_path):
    project = Project.create(tmp_path / "p.qualcode")
    project.add_corpus(load(tmp_path, "v1", ORIGINAL))
    project.add_codebook(qc.load_codebook("nic_study"))
    segs = project.segments.set_index("turn")
    project.accept([segs.loc[2, "segment_id"]], "collaboration.isolation", coder="ana")
    project.accept([segs.loc[4, "segment_id"]], "collaboration.channels", coder="ana")
    start = segs.loc[6, "text"].index("informes")
    add_manual(project, [segs.loc[6, "segment_id"]], "leadership.focus.administrative", coder="ana",
               spans=[(start, start + len("informes todo el tiempo"))])
    return project


def test_typo_fix_and_added_paragraph_keep_every_decision_on_the_same_words(tmp_path):
    project = coded_project(tmp_path)
    corrected = ("E: Antes de empezar, ¿me confirma su cargo?\nD1: Directora hace seis años.\n" + ORIGINAL) \
        .replace("muy sola, nadie", "muy sola; nadie") \
        .replace("El Servicio Local nos", "Mire, el Servicio Local nos")
    result = project.add_corpus(load(tmp_path, "v2", corrected))
    assert result.iloc[0]["action"] == "updated"
    assert result.iloc[0]["n_orphaned"] == 0 and result.iloc[0]["n_reanchored"] == 2
    quotes = coded_quotes(project).set_index("code_id")
    assert quotes.loc["collaboration.isolation", "quote"].startswith("Al principio me sentía muy sola; nadie")
    assert quotes.loc["collaboration.channels", "quote"].startswith("Con el grupo de WhatsApp")
    assert quotes.loc["leadership.focus.administrative", "quote"] == "informes todo el tiempo"
    anchors = dict(zip(decisions(project)["code_id"], decisions(project)["anchor"]))
    assert anchors == {"collaboration.isolation": "fuzzy", "collaboration.channels": "original",
                       "leadership.focus.administrative": "exact"}
    text = project.corpus.text("d01")
    for row in quotes.itertuples():
        assert text[row.start:row.end] == row.quote


def test_removed_turn_is_reported_as_an_orphan_never_dropped(tmp_path):
    project = coded_project(tmp_path)
    shortened = ORIGINAL.replace("D1: Al principio me sentía muy sola, nadie entendía lo que era dirigir un jardín.\n",
                                 "D1: Bien.\n")
    result = project.add_corpus(load(tmp_path, "v2", shortened))
    assert result.iloc[0]["n_orphaned"] == 1
    orphans = project.orphans
    assert list(orphans["code_id"]) == ["collaboration.isolation"]
    assert orphans.iloc[0]["quote"].startswith("Al principio me sentía muy sola")
    assert len(decisions(project, history=True)) == 3
    assert "collaboration.isolation" not in set(decisions(project)["code_id"])
