"""The notebook review widget: the queue's logic on a real project, and the widget driven from Python.

The browser half (a click in Chromium lands in the project file) is tests/test_widget_browser.py.
"""

from __future__ import annotations

import html
import re
import shutil
import sys

import pandas as pd
import pytest

import qualcode as qc
from qualcode.coders.active import learning_order
from qualcode.errors import MissingDependencyError, ParameterError
from qualcode.project import Project
from qualcode.review.widget import ReviewQueue, ReviewWidget, highlight_html

SAMPLES = ("int_d02_final.txt", "int_d07_intermedia.txt")
OTHER = "leadership.workload.time"


@pytest.fixture(scope="module")
def template(tmp_path_factory, samples):
    """A project with two sample interviews and their keyword suggestions, built once and copied per test."""
    path = tmp_path_factory.mktemp("widget") / "template.qualcode"
    corpus, _ = qc.load_corpus([samples / "transcripts" / name for name in SAMPLES],
                               attributes=samples / "attributes.csv")
    with Project.create(path) as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        qc.suggest(project, methods=("keyword",))
    return path


@pytest.fixture
def study(template, tmp_path):
    path = tmp_path / "study.qualcode"
    shutil.copy(template, path)
    project = Project.open(path)
    yield project
    project.close()


def saved(study, coder="ana"):
    """The decision log as another process sees it: a fresh connection to the file."""
    with Project.open(study.path) as fresh:
        return qc.decisions(fresh, history=True, coder=coder)


def test_queue_is_in_reading_order_best_suggestion_first_within_a_turn(study):
    queue = ReviewQueue(study, "ana")
    stored = study.suggestions
    assert len(queue) == len(stored) > 10
    order = {sid: i for i, sid in enumerate(study.segments["segment_id"])}
    table = queue.table
    keys = [(order[s], -score) for s, score in zip(table["segment_id"], table["score"], strict=True)]
    assert keys == sorted(keys)
    by_score = ReviewQueue(study, "ana", order="score").table["score"].tolist()
    assert by_score == sorted(by_score, reverse=True)


def test_queue_learn_order_is_the_learning_order_of_the_same_suggestions(study):
    by_document = ReviewQueue(study, "ana").table
    learn = ReviewQueue(study, "ana", order="learn").table
    pairs = list(zip(learn["segment_id"], learn["code_id"], strict=True))
    assert sorted(pairs) == sorted(zip(by_document["segment_id"], by_document["code_id"], strict=True))
    texts = study.segments.set_index("segment_id")["text"]
    expected = learning_order(by_document.assign(text=by_document["segment_id"].map(texts)))
    assert pairs == [pairs_of(by_document)[i] for i in expected]
    assert pairs != pairs_of(by_document)
    with pytest.raises(ParameterError, match="'learn'"):
        ReviewQueue(study, "ana", order="fastest")


def pairs_of(table):
    return list(zip(table["segment_id"], table["code_id"], strict=True))


def test_queue_leaves_out_what_this_coder_already_decided(study):
    first = study.suggestions.iloc[[0, 1]]
    qc.accept(study, first.iloc[[0]], coder="ana")
    qc.add_manual(study, first.iloc[[1]], coder="ana")
    pairs = set(zip(ReviewQueue(study, "ana").table["segment_id"], ReviewQueue(study, "ana").table["code_id"], strict=True))
    assert not pairs & set(zip(first["segment_id"], first["code_id"], strict=True))
    assert len(ReviewQueue(study, "ana")) == len(study.suggestions) - 2
    assert len(ReviewQueue(study, "luis")) == len(study.suggestions)


def test_accept_is_in_the_file_at_once_with_source_widget(study):
    queue = ReviewQueue(study, "ana")
    item = queue.current()
    returned = queue.accept(memo="claro")
    log = saved(study)
    assert len(log) == 1 and returned["decision_id"].tolist() == log["decision_id"].tolist()
    row = log.iloc[0]
    assert (row["segment_id"], row["code_id"], row["decision"], row["source"], row["memo"]) == (
        item.segment_id, item.code_id, "accept", "widget", "claro")
    assert row["method"] == "keyword" and row["score"] == pytest.approx(item.score)
    assert queue.current().position == 1 and queue.progress == (1, 0, len(queue))


def test_reject_is_in_the_file_at_once(study):
    queue = ReviewQueue(study, "ana")
    item = queue.current()
    queue.reject()
    row = saved(study).iloc[-1]
    assert (row["segment_id"], row["code_id"], row["decision"], row["source"]) == (
        item.segment_id, item.code_id, "reject", "widget")


def test_other_code_rejects_the_suggestion_and_codes_the_other_in_one_transaction(study):
    queue = ReviewQueue(study, "ana")
    item = queue.current()
    queue.other(OTHER, memo="habla de la carga")
    log = saved(study)
    assert log[["segment_id", "code_id", "decision"]].values.tolist() == [
        [item.segment_id, item.code_id, "reject"], [item.segment_id, OTHER, "manual"]]
    assert set(log["source"]) == {"widget"} and log["decision_id"].diff().iloc[1] == 1
    assert queue.progress.decided == 1


def test_other_code_refuses_unknown_or_suggested_codes_and_writes_nothing(study):
    queue = ReviewQueue(study, "ana")
    with pytest.raises(ParameterError, match="not in the project's codebook"):
        queue.other("no.such.code")
    with pytest.raises(ParameterError, match="use accept"):
        queue.other(queue.current().code_id)
    assert saved(study).empty and queue.position == 0


def test_skip_saves_nothing_and_skipped_come_back_after_the_others(study):
    rows = study.suggestions.head(3)
    queue = ReviewQueue(study, "ana", suggestions=rows)
    first = queue.current().segment_id, queue.current().code_id
    queue.skip()
    assert queue.progress == (0, 1, 3) and saved(study).empty
    queue.accept()
    queue.reject()
    assert (queue.current().segment_id, queue.current().code_id) == first
    assert queue.current().status == "skip"
    queue.skip()  # the only one left: it stays
    assert queue.current().position == 0
    queue.accept()
    assert queue.finished and queue.current() is None and queue.progress == (3, 0, 3)
    with pytest.raises(ParameterError, match="finished"):
        queue.accept()


def test_back_shows_the_previous_item_and_a_new_decision_becomes_current(study):
    queue = ReviewQueue(study, "ana", suggestions=study.suggestions.head(2))
    assert queue.back() is None and not queue.can_go_back
    queue.accept()
    queue.accept()
    assert queue.finished
    again = queue.back()
    assert again.position == 1 and again.status == "accept"
    queue.reject()
    assert saved(study)["decision"].tolist() == ["accept", "accept", "reject"]
    current = qc.decisions(study, coder="ana")
    assert sorted(current["decision"]) == ["accept", "reject"] and queue.finished


def test_a_new_queue_starts_where_the_coder_stopped(study):
    queue = ReviewQueue(study, "ana")
    queue.accept()
    queue.skip()
    queue.reject()
    with Project.open(study.path) as fresh:
        again = ReviewQueue(fresh, "ana")
        assert len(again) == len(queue) - 2
        assert again.current().segment_id == queue.item(1).segment_id


def test_evidence_is_highlighted_at_its_document_offsets(study):
    queue = ReviewQueue(study, "ana")
    texts = study.documents.set_index("doc_id")["text"]
    stored = study.suggestions.set_index(["segment_id", "code_id"])["spans"]
    starts = study.segments.set_index("segment_id")["start"]
    checked = 0
    for position in range(len(queue)):
        item = queue.item(position)
        start = starts[item.segment_id]
        words = {texts[item.doc_id][s:e] for s, e in stored[(item.segment_id, item.code_id)]}
        marked = {html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", item.quote_html, flags=re.S)}
        assert marked and all(any(w in m for m in marked) for w in words)
        for s, e in item.spans:  # document offsets, inside the segment
            assert start <= s < e <= start + len(item.quote)
            assert item.quote[s - start:e - start] == texts[item.doc_id][s:e]
        assert html.unescape(re.sub(r"</?mark>", "", item.quote_html)) == item.quote
        # Where the marks fall in the unescaped text: every stored span lies inside one of them.
        pieces = re.split(r"(</?mark>)", item.quote_html)
        at, inside, marks = 0, False, []
        for piece in pieces:
            if piece in ("<mark>", "</mark>"):
                inside = piece == "<mark>"
                continue
            length = len(html.unescape(piece))
            if inside:
                marks.append((at, at + length))
            at += length
        assert all(any(a <= s - start and e - start <= b for a, b in marks) for s, e in item.spans)
        checked += 1
    assert checked == len(queue)


def test_interviewer_question_is_the_turn_before(study):
    item = ReviewQueue(study, "ana").current()
    segments = study.segments
    doc = segments[segments["doc_id"] == item.doc_id].sort_values("start")
    at = doc.index[doc["segment_id"] == item.segment_id][0]
    before = doc.loc[:at].iloc[:-1]
    asked = before[before["speaker_role"] == "interviewer"]["text"].iloc[-1]
    assert item.question == asked and item.question_html == html.escape(asked)
    assert item.code_label == study.codebook()[item.code_id].label["es"]
    assert ReviewQueue(study, "ana", lang="en").current().code_label == study.codebook()[item.code_id].label["en"]


def test_participant_words_are_escaped_never_run_as_html(tmp_path):
    transcript = tmp_path / "t.txt"
    transcript.write_text("Entrevistadora:\n¿Qué pasó <b>ahí</b>?\n\nDirectora 1:\n"
                          "Confío en <script>alert('x')</script> & en mis colegas.\n", encoding="utf-8")
    corpus, _ = qc.load_corpus(transcript)
    with Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        segment = project.segments.query("speaker_role == 'participant'").iloc[0]
        start = segment["start"] + segment["text"].index("<script>")
        rows = pd.DataFrame({"segment_id": [segment["segment_id"]], "code_id": ["collaboration.building_blocks.trust"],
                             "score": [0.9], "method": ["keyword"], "evidence": ["«<script>»"],
                             "spans": [[[int(start), int(start) + 8]]]})
        widget = ReviewWidget(ReviewQueue(project, "ana", suggestions=rows))
        item = widget.queue.current()
        assert "<script>" not in item.quote_html and "<b>" not in item.question_html
        assert "<mark>&lt;script&gt;</mark>alert(&#x27;x&#x27;)&lt;/script&gt; &amp; en" in item.quote_html
        for shown in (widget.quote.value, widget.question.value, widget.details.value):
            assert "<script>" not in shown and "<b>ahí" not in shown
        assert "&lt;script&gt;" in widget.details.value


def test_highlight_merges_overlaps_and_ignores_spans_outside_the_text():
    assert highlight_html("abcdef", [(4, 9), (1, 3), (2, 4), (-2, 0), (5, 5)]) == "a<mark>bcdef</mark>"
    assert highlight_html("a<b", None) == "a&lt;b"


def test_suggestions_must_point_to_known_segments_and_codes(study):
    rows = study.suggestions.head(1)
    with pytest.raises(ParameterError, match="current codebook"):
        ReviewQueue(study, "ana", suggestions=rows.assign(code_id="no.such.code"))
    with pytest.raises(ParameterError, match="not in the project"):
        ReviewQueue(study, "ana", suggestions=rows.assign(segment_id="0000"))
    with pytest.raises(ParameterError, match="coder"):
        ReviewQueue(study, " ")
    with pytest.raises(ParameterError, match="lang"):
        ReviewQueue(study, "ana", lang="fr")


def test_widget_buttons_save_and_move_on(study):
    widget = qc.review_widget(study.path, coder="ana")
    queue = widget.queue
    assert widget.back_button.disabled and widget.progress_bar.value == 0
    assert "<mark>" in widget.quote.value and queue.current().code_label in widget.details.value
    widget.memo.value = "buena cita"
    widget.accept_button.click()
    assert saved(study).iloc[-1][["decision", "source", "memo"]].tolist() == ["accept", "widget", "buena cita"]
    assert widget.memo.value == "" and widget.progress_bar.value == 1 and "#1" in widget.status.value
    widget.reject_button.click()
    widget.other_button.click()  # nothing chosen yet: says so, saves nothing
    assert "Elija" in widget.status.value and len(saved(study)) == 2
    widget.other_code.value = OTHER
    widget.other_button.click()
    assert saved(study)["decision"].tolist() == ["accept", "reject", "reject", "manual"]
    assert widget.other_code.value is None
    widget.skip_button.click()
    assert queue.progress == (3, 1, len(queue)) and "1 saltadas" in widget.progress_text.value
    widget.back_button.click()
    assert queue.current().status == "skip"


def test_widget_shortcut_box_acts_once_per_letter_and_clears_itself(study):
    widget = ReviewWidget(ReviewQueue(study, "ana", lang="en"))
    assert "a = accept" in widget.shortcuts.placeholder and widget.accept_button.description == "Accept"
    widget.shortcuts.value = "a"
    assert widget.shortcuts.value == "" and saved(study)["decision"].tolist() == ["accept"]
    widget.shortcuts.value = "R"
    widget.shortcuts.value = "s"
    assert saved(study)["decision"].tolist() == ["accept", "reject"] and widget.queue.progress.skipped == 1
    widget.other_code.value = OTHER
    widget.shortcuts.value = "o"
    assert saved(study)["decision"].tolist()[-1] == "manual"
    widget.shortcuts.value = "b"
    assert widget.queue.current().status == "other"
    widget.shortcuts.value = "x"
    assert "'x' does nothing" in html.unescape(widget.status.value) and widget.shortcuts.value == ""


def test_widget_at_the_end_disables_deciding(study):
    widget = ReviewWidget(ReviewQueue(study, "ana", suggestions=study.suggestions.head(1), lang="en"))
    widget.accept_button.click()
    assert widget.accept_button.disabled and "Nothing left" in widget.quote.value
    assert not widget.back_button.disabled
    empty = ReviewWidget(ReviewQueue(study, "ana", suggestions=study.suggestions.head(0), lang="en"))
    assert "qc.suggest" in empty.quote.value and empty.accept_button.disabled
    assert "application/vnd.jupyter.widget-view+json" in widget._repr_mimebundle_()


def test_without_ipywidgets_the_error_says_what_to_install(study, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "qualcode\[notebook\]"'):
        qc.review_widget(study, coder="ana")
    assert ReviewQueue(study, "ana").current() is not None  # the logic needs no widget library
