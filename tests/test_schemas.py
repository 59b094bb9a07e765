"""The table contract: every declared table is what its function returns, the checker is lazy, options are checked.

The first test is what keeps the docstrings from drifting: the Returns sections are generated from the
declarations (``{columns}``), and here each declaration is compared with a real table, column by column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import qualcode as qc
from qualcode import schemas
from qualcode.codebook.taguette import taguette_frame
from qualcode.errors import ParameterError
from qualcode.project import Project
from qualcode.review.table import review_table
from qualcode.review.widget import ReviewQueue
from qualcode.schemas import TABLES, SchemaError, check, columns, empty_table

SAMPLES = ("int_d02_final.txt", "int_d07_intermedia.txt", "int_d10_final.txt", "int_pa2_final.txt")
#: The attribute columns of data_samples/attributes.csv, after the declared columns.
ATTRS = ["participant", "pseudonym", "role", "district", "stage", "round", "date"]


@pytest.fixture(scope="module")
def produced(tmp_path_factory, samples):
    """Every public table, made once from three sample interviews: table name → (frame, columns after the declared)."""
    folder = tmp_path_factory.mktemp("schemas")
    corpus, report = qc.load_corpus([samples / "transcripts" / name for name in SAMPLES],
                                    attributes=samples / "attributes.csv")
    codebook = qc.load_codebook("nic_study")
    out: dict[str, tuple[pd.DataFrame, list[str]]] = {
        "documents": (corpus.documents, ATTRS), "segments": (corpus.segments, ATTRS), "load_report": (report, []),
        "codes": (codebook.to_frame(), []),
        "codebook_changes": (qc.codebook_changes(qc.load_codebook("leadership"), codebook), []),
        "taguette_codebook": (taguette_frame(codebook), [])}
    with Project.create(folder / "study.qualcode") as project:
        out["corpus_changes"] = (project.add_corpus(corpus), [])
        project.add_codebook(codebook)
        out["suggestions"] = (qc.KeywordCoder().fit(codebook).suggest(corpus.segments), [])
        ranked = qc.suggest(project, methods=("keyword",))
        assert list(ranked.columns) == [*columns("suggestions"), "rank"]
        out["suggestion_runs"] = (project.suggestion_runs, [])
        qc.accept(project, ranked.iloc[:12], coder="ana")
        qc.reject(project, ranked.iloc[12:16], coder="ana")
        out["decisions"] = (qc.accept(project, ranked.iloc[4:20], coder="luis"), [])
        current = qc.decisions(project)
        out["decision_history"] = (qc.decisions(project, history=True), [])
        quotes = qc.coded_quotes(project)
        out["coded_quotes"] = (quotes, ATTRS)
        out["codings"] = (quotes[columns("codings")], [])
        out["evaluation"] = (qc.evaluate(ranked, qc.decisions(project, coder="ana")), [])
        measured = qc.evaluate_project(project, methods=("keyword",), folds=2, curve=(0, 3), review=(5,),
                                       embedder="tfidf")
        out["evaluation_summary"] = (measured.summary, [])
        out["learning_curve"] = (measured.curve, [])
        out["reliability"] = (measured.reliability, [])
        out["frequencies"] = (qc.code_frequencies(quotes), [])
        by_role = qc.code_by_attribute(quotes, "role")
        out["code_by_attribute"] = (by_role.drop(columns="role"), [])
        assert list(by_role.columns)[:2] == ["code_id", "role"]
        out["cooccurrence"] = (qc.cooccurrence(quotes), [])
        out["first_appearance"] = (qc.first_appearance(quotes), [])
        out["saturation"] = (qc.saturation(quotes), [])
        out["saturation_orderings"] = (qc.saturation_orderings(quotes, n_orderings=3), [])
        out["unseen_codes"] = (qc.unseen_codes(quotes), [])
        out["agreement"] = (qc.cohen_kappa(current, "ana", "luis"), [])
        out["alpha"] = (qc.krippendorff_alpha(current), [])
        out["disagreements"] = (qc.disagreements(current, "ana", "luis"), [])
        out["emergent_themes"] = (qc.emergent_themes(project.segments, quotes, min_size=1), [])
        out["review_queue"] = (ReviewQueue(project, "bea", suggestions=ranked.head(5)).table, [])
        table = review_table(project, project.suggestions.head(5))
        assert list(table.columns).index("text_sha") + 1 == list(table.columns).index(ATTRS[0])
        assert list(table.columns)[-len(ATTRS) - 2:-2] == ATTRS
        out["review_table"] = (table.drop(columns=ATTRS), [])
        qc.export_review_sheet(project, ranked.iloc[20:25], folder / "review.xlsx", coder="bea")
        review = qc.read_review_sheet(folder / "review.xlsx")
        out["review_sheet"] = (review, [])
        out["review_outcomes"] = (qc.apply_review(project, review), [])
        out["codebook_set"] = (qc.set_codebook(project, qc.load_codebook("leadership"), dry_run=True), [])
    qualcoder = Path(__file__).parent / "data" / "refi" / "qualcoder-4.0b_native-project.qdpx"
    imported = qc.import_refi_qda(qualcoder, folder / "imported.qualcode")
    out["import_report"] = (qc.import_report(imported), [])
    out["imported_notes"] = (qc.imported_notes(imported), [])
    return out


def test_every_declared_table_has_a_producer_here(produced):
    # A new declaration without an entry in `produced` would leave its docstring columns unchecked.
    unproduced = sorted(set(TABLES) - set(produced))
    assert not unproduced, f"add the function that returns {unproduced} to the `produced` fixture in this file"
    undeclared = sorted(set(produced) - set(TABLES))
    assert not undeclared, f"declare {undeclared} in qualcode/schemas.py (TABLES)"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_schemas_table_is_produced_with_exactly_its_declared_columns(produced, name):
    frame, extra = produced[name]
    declared = [*columns(name), *extra]
    assert list(frame.columns) == declared, (
        f"{name} returns columns {list(frame.columns)}; its declaration in qualcode/schemas.py (TABLES[{name!r}]) "
        f"says {declared}: declare a new column there (in the order the function returns it), or fix the function")
    check(frame, name)
    assert len(frame), f"the {name} sample is empty: the test would not see its values"


def test_schemas_codings_are_the_coded_quotes_columns(produced):
    assert set(columns("codings")) <= set(produced["coded_quotes"][0].columns)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_schemas_empty_table_passes_its_own_check(name):
    frame = empty_table(name)
    assert list(frame.columns) == columns(name)
    assert check(frame, name) is frame


def test_schemas_check_reports_every_problem_at_once():
    bad = pd.DataFrame({"segment_id": ["s1", None, None], "doc_id": "d", "start": ["0", "1", "2"],
                        "end": [1, 2, 3], "text": "x"})
    with pytest.raises(SchemaError) as caught:
        check(bad, "segments")
    error = caught.value
    assert isinstance(error, ParameterError) and isinstance(error, ValueError)
    problems = error.issues.set_index("column")["problem"].to_dict()
    assert problems["turn"] == "missing" and problems["language"] == "missing"
    assert problems["segment_id"] == "has 2 empty value(s)"
    assert problems["start"].startswith("holds") and "whole numbers" in problems["start"]
    assert set(error.issues["table"]) == {"segments"}
    message = str(error)
    assert message.startswith("the segments table has 9 problems: missing column(s) turn, part, speaker,")
    assert "column segment_id has 2 empty value(s)" in message and "corpus.segments or project.segments" in message
    with pytest.raises(SchemaError) as first:
        check(bad, "segments", lazy=False)
    assert len(first.value.issues) == 1


def test_schemas_check_only_the_columns_asked_and_names_the_argument():
    frame = pd.DataFrame({"doc_id": ["d"], "code_id": ["x"]})
    assert check(frame, "codings", columns=["doc_id", "code_id"]) is frame
    with pytest.raises(SchemaError, match=r"^codings, given to qc: the codings table has 1 problem: missing column"
                                          r"\(s\) segment_id\. It needs segment_id, doc_id, code_id; "
                                          r"qc\.coded_quotes\(project\) gives them\.$"):
        check(frame, "codings", where="codings, given to qc")
    with pytest.raises(SchemaError, match="must be a DataFrame, not list"):
        check([1], "codings")
    with pytest.raises(ParameterError, match="unknown table 'nope'"):
        check(frame, "nope")


def test_schemas_takes_checks_the_argument_at_the_boundary_by_name():
    codings = pd.DataFrame({"segment_id": ["s"], "code_id": ["x"]})
    with pytest.raises(SchemaError, match=r"^codings, given to code_frequencies\(\): .*missing column\(s\) doc_id"):
        qc.code_frequencies(codings)
    with pytest.raises(SchemaError, match=r"^codings, given to saturation\(\): .*missing column\(s\) doc_id"):
        qc.saturation(codings=codings)
    with pytest.raises(SchemaError, match=r"segments, given to KeywordCoder.suggest\(\).*missing column\(s\) doc_id, "
                                          r"text, start, speaker_role, language"):
        qc.KeywordCoder().fit(qc.load_codebook("nic_study")).suggest(codings)


def test_schemas_returns_checks_what_a_function_returns():
    @schemas.returns("cooccurrence")
    def broken():
        """{columns}"""
        return pd.DataFrame({"code_a": ["x"]})

    assert "- ``jaccard``: n over units with either" in broken.__doc__
    with pytest.raises(SchemaError, match=r"broken\(\) returned something that is not the declared table"):
        broken()


def test_schemas_docstrings_show_the_declared_columns():
    for name in ("coded_quotes", "decisions", "code_frequencies", "saturation", "evaluate", "cohen_kappa",
                 "read_review_sheet", "apply_review", "suggest", "emergent_themes"):
        doc = getattr(qc, name).__doc__
        assert "{columns}" not in doc, name
    assert "- ``quote_now``: the coded words as the document reads now" in qc.coded_quotes.__doc__
    assert "- ``recall_at_k``:" in qc.evaluate.__doc__
    assert "- ``anchor``:" in qc.decisions.__doc__
    assert "- ``code_id``:" in qc.Codebook.to_frame.__doc__
    assert "- ``n_orphaned``:" in qc.Project.add_corpus.__doc__


def test_schemas_no_public_docstring_keeps_a_placeholder():
    import inspect

    for name in qc.__all__:
        obj = getattr(qc, name)
        members = [obj, *(m for _, m in inspect.getmembers(obj) if callable(m) or isinstance(m, property))] \
            if inspect.isclass(obj) else [obj]
        for member in members:
            doc = getattr(member, "__doc__", None) or ""
            assert "{columns}" not in doc, f"{name}: {member}"


def test_schemas_coded_keeps_accept_and_manual():
    d = pd.DataFrame({"segment_id": list("abcd"), "decision": ["accept", "reject", "manual", "reject"]})
    assert schemas.coded(d)["segment_id"].tolist() == ["a", "c"]
    no_decisions = d.drop(columns="decision")
    assert schemas.coded(no_decisions) is no_decisions


@pytest.mark.parametrize(("validator", "good", "bad", "message"), [
    (schemas.check_lang, "en", "fr", "lang must be one of 'es', 'en', got 'fr'."),
    (schemas.check_unit, "sentence", "line", "unit must be one of 'turn', 'paragraph', 'sentence', got 'line'."),
    (schemas.check_decision_kind, "manual", "imported",
     "decision must be one of 'accept', 'reject', 'manual', got 'imported'."),
    (schemas.check_method, "learned", "regex", "method must be one of 'keyword', 'embedding', 'learned', 'llm', got 'regex'."),
])
def test_schemas_option_validators(validator, good, bad, message):
    assert validator(good) == good
    with pytest.raises(ParameterError) as caught:
        validator(bad)
    assert str(caught.value) == message
    with pytest.raises(ParameterError):
        validator(None)


def test_schemas_option_types_are_the_valid_values():
    from typing import get_args

    assert get_args(schemas.Lang) == ("es", "en")
    assert get_args(schemas.Unit) == qc.corpus.UNITS == ("turn", "paragraph", "sentence")
    assert get_args(schemas.DecisionKind) == ("accept", "reject", "manual")
    assert schemas.check_lang(None, none="detect") is None
    with pytest.raises(ParameterError, match=r"^language must be one of 'es', 'en' or None \(detect\), got 'de'\.$"):
        schemas.check_lang("de", "language", none="detect")


@pytest.mark.parametrize("call", [
    lambda: qc.KeywordCoder(lang="fr").fit(qc.Codebook("x", codes=[qc.Code("a")])),
    lambda: qc.Codebook("x", codes=[qc.Code("a")]).filter(lang="fr"),
    lambda: __import__("qualcode.codebook.qdc", fromlist=["qdc_bytes"]).qdc_bytes(
        qc.Codebook("x", codes=[qc.Code("a")]), lang="fr"),
    lambda: __import__("qualcode.nlp.pipeline", fromlist=["get_nlp"]).get_nlp("fr"),
    lambda: qc.report_tables(pd.DataFrame(), qc.Codebook("x", codes=[qc.Code("a")]), lang="fr"),
])
def test_schemas_one_language_message_everywhere(call):
    with pytest.raises(ParameterError, match=r"^lang must be one of 'es', 'en'(,| or None \(each segment's language\),)"
                                             r" got 'fr'\.$"):
        call()


def test_load_corpus_language_message(samples):
    with pytest.raises(ParameterError, match=r"^language must be one of 'es', 'en' or None \(detect\), got 'fr'\.$"):
        qc.load_corpus(samples / "transcripts" / SAMPLES[0], language="fr")


def test_schemas_a_table_parameter_refuses_what_is_not_a_table(produced):
    with pytest.raises(SchemaError, match=r"codings, given to code_frequencies\(\): the codings table must be a "
                                          r"DataFrame, not list"):
        qc.code_frequencies([1, 2, 3])
    quotes = produced["coded_quotes"][0]
    segments = produced["segments"][0].drop(columns="doc_id")
    with pytest.raises(SchemaError, match=r"segments, given to code_frequencies\(\).*missing column\(s\) doc_id"):
        qc.code_frequencies(quotes, segments=segments)
