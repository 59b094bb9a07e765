"""A round suggests and stores its documents part by part (issue 20): memory flat in the round's size, and
suggestions identical to one call over the whole round, to the bit, interrupted or not."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

import qualcode as qc
from qualcode import workflow
from qualcode.batch import add_files
from qualcode.coders import embedders
from qualcode.review.decisions import accept, reject


class BatchSensitiveEmbedder:
    """Vectors from each text's hash, nudged by the size of the batch the text was encoded in.

    The real encoder's floats move (in their last bits) with a batch's make-up; this one moves them visibly, so
    a text encoded in another batch than one call would use changes the scores.
    """

    name = "batch-sensitive"

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = [np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:12], 16)).standard_normal(24)
                for t in texts]
        return (np.vstack(rows) + 1e-3 * len(texts)).astype(np.float32)


@pytest.fixture
def sensitive(monkeypatch):
    # "use" resolves to the batch-sensitive embedder; parts of ~60 segments and encoding as soon as a batch
    # fills, so the round's texts are gathered across many parts with partial batches carried between them.
    monkeypatch.setattr(embedders, "USEEmbedder", BatchSensitiveEmbedder)
    monkeypatch.setattr(workflow, "ROUND_PART_SEGMENTS", 60)
    monkeypatch.setattr(workflow, "ENCODE_BATCHES", 1)


def _one_call(project, monkeypatch, **kwargs) -> None:
    """``qc.suggest`` on the project in one part: what one call over every document suggests."""
    with monkeypatch.context() as patch:
        patch.setattr(workflow, "ROUND_PART_SEGMENTS", 10**9)
        qc.suggest(project, **kwargs)


def _n_parts(project, documents) -> int:
    counts = {str(d): int(n) for d, n in project.query("SELECT doc_id, count(*) FROM segments GROUP BY doc_id")}
    return len(workflow._round_parts(documents, counts))


def _project(path, samples):
    project = qc.Project.create(path)
    project.add_codebook(qc.load_codebook("nic_study"))
    add_files(project, samples / "transcripts", attributes=samples / "attributes.csv")
    return project


def _stored(project) -> pd.DataFrame:
    return project.suggestions.drop(columns="created_at").reset_index(drop=True)


def _decide(project) -> None:
    """The same decisions in any project of the samples: enough for the learned coder on two codes."""
    segments = project.segments
    part = segments[segments["speaker_role"] == "participant"]["segment_id"].tolist()
    codes = [c.id for c in project.codebook() if "." in c.id][:2]
    for k, code in enumerate(codes):
        accept(project, part[k * 20:k * 20 + 6], code, coder="ana")
        reject(project, part[k * 20 + 6:k * 20 + 12], code, coder="ana")


@pytest.mark.slow  # about 20 s: two projects of the samples suggested with the keyword coder
def test_round_by_parts_suggests_what_one_call_suggests(tmp_path, samples, sensitive, monkeypatch):
    parts, whole = _project(tmp_path / "parts.qualcode", samples), _project(tmp_path / "whole.qualcode", samples)
    for project in (parts, whole):
        _decide(project)
    pending = whole.unsuggested
    assert _n_parts(parts, pending) > 5  # really in parts
    result = qc.run_round(parts, samples / "transcripts", attributes=samples / "attributes.csv")
    _one_call(whole, monkeypatch, documents=pending)
    assert "learned" in parts.suggestion_runs["methods"].iloc[-1]
    assert len(result.suggestions) == len(whole.suggestions) > 100
    assert _stored(parts).equals(_stored(whole))
    assert parts.unsuggested == [] == whole.unsuggested


@pytest.mark.slow
def test_round_by_parts_interrupted_between_parts_finishes_as_one_call(tmp_path, samples, sensitive, monkeypatch):
    parts, whole = _project(tmp_path / "parts.qualcode", samples), _project(tmp_path / "whole.qualcode", samples)
    _one_call(whole, monkeypatch, documents=whole.unsuggested)
    stores = []
    real = qc.Project.add_suggestions

    def killed_at_the_third_part(self, *args, **kwargs):
        if len(stores) == 2:
            raise KeyboardInterrupt
        stores.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(qc.Project, "add_suggestions", killed_at_the_third_part)
    with pytest.raises(KeyboardInterrupt):
        qc.run_round(parts, samples / "transcripts", attributes=samples / "attributes.csv", out=tmp_path / "out")
    assert 0 < len(parts.unsuggested) < len(whole.documents)  # two parts stored, the rest not
    monkeypatch.setattr(qc.Project, "add_suggestions", real)
    result = qc.run_round(parts, samples / "transcripts", attributes=samples / "attributes.csv",
                          out=tmp_path / "out")
    assert result.resumed and result.owed
    assert _stored(parts).equals(_stored(whole))
    assert result.n_review_rows == len(whole.suggestions)


@pytest.mark.slow  # about 20 s, as above
def test_suggest_on_a_project_by_parts_stores_what_one_call_stores(tmp_path, samples, sensitive, monkeypatch):
    # qualcode suggest (qc.suggest on a project) goes part by part too: bounded memory, the same suggestions.
    parts, whole = _project(tmp_path / "parts.qualcode", samples), _project(tmp_path / "whole.qualcode", samples)
    for project in (parts, whole):
        _decide(project)
    documents = list(parts.documents["doc_id"])
    assert _n_parts(parts, documents) > 5
    stores = []
    real = qc.Project.add_suggestions

    def counted(self, *args, **kwargs):
        stores.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(qc.Project, "add_suggestions", counted)
    found = qc.suggest(parts, documents=documents[::-1])  # asked in another order: stored in the project's
    assert len(stores) == _n_parts(parts, documents)
    monkeypatch.setattr(qc.Project, "add_suggestions", real)
    _one_call(whole, monkeypatch)
    assert "learned" in found.attrs["run"]["methods"]
    assert len(found) == len(whole.suggestions) > 100
    assert _stored(parts).equals(_stored(whole))


def test_every_part_of_a_round_is_scored_by_the_same_product_path(tmp_path, samples, sensitive, monkeypatch):
    """A call of 1, 2 or 3 parts stores the same suggestions, to the bit: the last (small) part and a one-part
    call are scored by ``suggest_part`` like every other part, never by the embedding coder's ``suggest``."""
    from qualcode.coders.embedding import EmbeddingCoder

    whole = []
    real = EmbeddingCoder.suggest

    def counted(self, segments):
        whole.append(1)
        return real(self, segments)

    monkeypatch.setattr(EmbeddingCoder, "suggest", counted)
    stored = []
    for n_parts in (1, 2, 3):
        project = _project(tmp_path / f"{n_parts}.qualcode", samples)
        _decide(project)
        documents = list(project.documents["doc_id"])
        total = len(project.segments)
        size = next(s for s in range(total // n_parts, total + 2) if _n_parts_of(project, documents, s) == n_parts)
        monkeypatch.setattr(workflow, "ROUND_PART_SEGMENTS", size)
        found = qc.suggest(project, methods=["embedding"])
        assert "learned" in found.attrs["run"]["methods"]
        stored.append(_stored(project))
    assert len(stored[0]) > 100
    assert stored[0].equals(stored[1]) and stored[0].equals(stored[2])
    assert whole == []


def _n_parts_of(project, documents, size) -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(workflow, "ROUND_PART_SEGMENTS", size)
        return _n_parts(project, documents)


def test_texts_to_encode_lists_what_the_coder_hands_its_embedder(samples):
    # The hook a round by parts gathers its texts with (no coder's embedder is swapped for a recorder).
    from qualcode.coders.embedding import EmbeddingCoder
    from qualcode.coders.learned import LearnedCoder

    class Recording:
        name = "recording"

        def __init__(self):
            self.texts = []

        def encode(self, texts):
            self.texts += texts
            return BatchSensitiveEmbedder().encode(texts)

    corpus, _ = qc.load_corpus(samples / "transcripts")
    segments = corpus.segments.head(120)
    codebook = qc.load_codebook("nic_study")
    part = segments[segments["speaker_role"] == "participant"]["segment_id"].tolist()
    codes = [c.id for c in codebook if "." in c.id][:2]
    made = pd.DataFrame({"segment_id": part[:24], "code_id": [codes[0]] * 12 + [codes[1]] * 12,
                         "decision": (["accept"] * 6 + ["reject"] * 6) * 2})
    made = made.merge(segments[["segment_id", "text"]].rename(columns={"text": "quote"}), on="segment_id")
    for coder in (EmbeddingCoder(Recording()), LearnedCoder(Recording())):
        coder.fit(codebook, made)
        recorder = coder.embedder_.embedder
        held = set(recorder.texts)  # encoded in fit (decided quotes), held by the coder: not asked again
        recorder.texts.clear()
        listed = coder.texts_to_encode(segments)
        assert recorder.texts == []  # listing encodes nothing
        coder.suggest(segments)
        assert len(listed) > 50
        assert recorder.texts == [t for t in dict.fromkeys(listed) if t not in held]
