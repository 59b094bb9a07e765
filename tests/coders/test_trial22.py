"""Issue 22, a new user's trial on small projects: learning from rejections, ``qualcode evaluate`` on few
decisions, and the messages it met."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qualcode.coders import EmbeddingCoder, EnsembleCoder, LearnedCoder
from qualcode.coders.fusion import DECIDED, Fusion
from qualcode.testing import HashingEmbedder


@pytest.fixture(scope="module")
def turns(sample_corpus):
    segments = sample_corpus.segments
    return segments[segments["speaker_role"] == "participant"].head(40).reset_index(drop=True)


def decisions_of(rows: pd.DataFrame, kind: str, turns: pd.DataFrame) -> pd.DataFrame:
    quote = turns.set_index("segment_id")["text"]
    return pd.DataFrame({"segment_id": rows["segment_id"].to_numpy(), "doc_id": rows["doc_id"].to_numpy(),
                         "code_id": rows["code_id"].to_numpy(), "decision": kind, "coder": "ana",
                         "quote": quote.reindex(rows["segment_id"]).to_numpy()})


def test_wrong_direction_a_rejected_pair_scores_lower_after_learning_and_an_accepted_one_higher(
        turns, study_codebook):
    # The trial: after a review where most shown suggestions were accepted, every rejected pair scored
    # higher than before its rejection (the refitted weights rose for every pair alike).
    def ensemble() -> EnsembleCoder:
        return EnsembleCoder([EmbeddingCoder(HashingEmbedder()), LearnedCoder(HashingEmbedder())],
                             top_k=None, min_score=0.0)

    before = ensemble().fit(study_codebook).suggest(turns)
    top = before[before["rank"] == 1].reset_index(drop=True)
    rejected, accepted = top.iloc[::4], top.drop(top.index[::4])
    decisions = pd.concat([decisions_of(accepted, "accept", turns), decisions_of(rejected, "reject", turns)],
                          ignore_index=True)
    learner = ensemble().fit(study_codebook, decisions)
    after = learner.suggest(turns)
    key = ["segment_id", "code_id"]
    was = rejected[[*key, "score"]].merge(after[[*key, "score", "rank", "evidence"]], on=key,
                                          suffixes=("_before", "_after"))
    assert len(was) == len(rejected) >= 5
    assert (was["score_after"] < was["score_before"]).all()
    assert (was["rank"] > 1).all()
    assert was["evidence"].str.contains("decided: rejected").all()
    now = accepted[[*key, "score"]].merge(after[[*key, "score"]], on=key, suffixes=("_before", "_after"))
    assert (now["score_after"] > now["score_before"]).all()
    # Every pair nobody decided (all a held-out evaluation sees) scores as the refitted weights alone say.
    learner.fusion_.decided_ = learner.fusion_.decided_.iloc[0:0]
    plain = learner.suggest(turns).set_index(key)["score"]
    undecided = after.set_index(key)["score"].drop(index=list(zip(decisions["segment_id"], decisions["code_id"],
                                                                  strict=True)))
    assert len(undecided) > 10 * len(decisions)
    assert undecided.equals(plain.reindex(undecided.index))


def test_wrong_direction_the_decision_moves_only_its_own_pair():
    fusion = Fusion(embedding=False)
    evidence = pd.DataFrame({"segment_id": ["a", "a", "b"], "code_id": ["x", "y", "x"], "keyword": [0.7, 0.7, 0.7]})
    plain = fusion.predict(evidence)
    fusion.decide(pd.DataFrame({"segment_id": ["a", "a", "a"], "code_id": ["x", "x", "y"],
                                "decision": ["reject", "accept", "reject"]}))
    moved = fusion.predict(evidence)
    logit = np.log(moved / (1 - moved)) - np.log(plain / (1 - plain))
    # Coded by anyone wins over someone's rejection; an undecided pair is scored as before.
    assert logit.round(6).tolist() == [DECIDED, -DECIDED, 0.0]


# -- qualcode evaluate on a small project ---------------------------------------------------------------------------

SMALL_CODEBOOK = """\
qualcode_codebook: 1
id: escuela
codes:
  - id: huerto
    label: {es: Huerto escolar}
    definition: {es: "El huerto: plantas, semillas y tierra."}
  - id: numeros
    label: {es: Números}
    definition: {es: "Matemática: números, contar y sumar."}
"""
TALK = {"huerto": ["En el huerto sembramos semillas de {x}", "Las plantas del huerto y la tierra con {x}"],
        "numeros": ["Contamos números hasta {x} con los niños", "Sumar números y contar {x} en matemática"]}


@pytest.fixture(scope="module")
def small_codebook(tmp_path_factory):
    import qualcode as qc

    path = tmp_path_factory.mktemp("cb") / "escuela.yaml"
    path.write_text(SMALL_CODEBOOK, encoding="utf-8")
    return qc.load_codebook(path)


def small_study(people: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``people`` participants of 5 turns each: 2 garden, 2 number talk, one nobody coded."""
    rows, gold = [], []
    for p in range(people):
        texts = [(c, t.format(x=f"p{p}")) for c, ts in TALK.items() for t in ts] + [(None, "Bueno, eso es todo.")]
        for i, (code, text) in enumerate(texts):
            sid = f"p{p}s{i}"
            rows.append({"segment_id": sid, "doc_id": f"doc{p}", "text": text, "start": 100 * i,
                         "speaker_role": "participant", "language": "es", "participant": f"P{p}"})
            if code:
                gold.append({"segment_id": sid, "code_id": code})
    return pd.DataFrame(rows), pd.DataFrame(gold)


@pytest.fixture(scope="module")
def small_result(small_codebook):
    from qualcode.coders.evaluate import cross_validate

    segments, gold = small_study()
    return cross_validate(segments, small_codebook, gold, segments["participant"], methods=("embedding",),
                          folds=2, curve=(0, 2, 5), review=(50,), embedder=HashingEmbedder())


def test_silent_small_project_evaluate_warns_where_its_figures_say_little(small_result):
    said = "\n".join(small_result.warnings)
    assert "no code on 2 of the 10 participant turns evaluated" in said
    assert "count as coded with nothing" in said
    # One participant per training fold: 2 coded segments per code, so n = 5 repeats n = 2.
    assert "only 8 coded segments" in said and "at most 2 coded segments of any code" in said
    assert "the curve stops at n = 2: the points 5 learn from the same examples" in said
    # The queue of a 5-turn fold is shorter than 50: both orders decide all of it.
    assert "budget(s) 50 decide the whole queue" in said


def test_noise_a_skipped_method_is_left_out_of_the_tables_not_shown_as_zeros(small_codebook):
    from qualcode.coders.evaluate import cross_validate

    segments, gold = small_study()
    result = cross_validate(segments, small_codebook, gold, segments["participant"],
                            methods=("keyword", "embedding"), folds=2, curve=(), review=(),
                            embedder=HashingEmbedder())
    assert "keyword" not in set(result.summary["system"]) and "embedding" in set(result.summary["system"])
    assert "keyword" not in set(result.scores["system"])
    assert any("the keyword method was skipped" in n for n in result.notes)


def test_malformed_message_one_group_refusal_is_one_sentence_with_its_remedy(small_codebook):
    from qualcode.coders.evaluate import cross_validate
    from qualcode.errors import ParameterError

    segments, gold = small_study(1)
    grouped = "document (no participant column: declare one with qualcode roles PROJECT --set participant=COLUMN)"
    with pytest.raises(ParameterError) as caught:
        cross_validate(segments, small_codebook, gold, segments["doc_id"], grouped_by=grouped,
                       embedder=HashingEmbedder())
    assert str(caught.value) == (
        "cross-validation needs coded segments in at least two document groups (one to hold out, one to learn "
        "from); found 1. There is no participant column: declare one with qualcode roles PROJECT --set "
        "participant=COLUMN.")


def test_silent_small_project_cli_prints_each_warning_as_a_warning_line(small_result, capsys):
    from qualcode.cli.evaluate import _show

    result = small_result
    _show(result, 3)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(lines) == len(result.warnings) == 4
    assert any("count as coded with nothing" in line for line in lines)


# -- codebook validate's summary ------------------------------------------------------------------------------------

def test_misleading_summary_flat_and_keywords_only_codebooks_are_described_as_they_are(small_codebook):
    from qualcode.codebook import Codebook
    from qualcode.codebook.model import Code
    from qualcode.codebook.validate import content_note, describe

    assert describe(small_codebook) == "2 codes, flat (no dimensions or sub-codes)"
    assert "labels and definitions" in content_note(small_codebook)
    keywords_only = Codebook("kw", codes=[Code("a", label={"es": "Liderazgo"}, keywords={"es": ["director"]})])
    note = content_note(keywords_only)
    assert "labels only (no definitions)" in note and "keywords are used by the keyword method" in note
    with_examples = Codebook("ex", codes=[Code("a", label={"es": "A"}, examples={"es": ["una cita"]})])
    assert content_note(with_examples) is None


def test_misleading_summary_nested_codebook_keeps_its_dimensions(study_codebook):
    from qualcode.codebook.validate import describe

    assert describe(study_codebook).startswith(f"{len(study_codebook)} codes in 3 dimension(s) (")
