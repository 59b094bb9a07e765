"""The review queue learns after every decision: the learner relearns (no re-encoding) and re-scores what is left."""

from __future__ import annotations

import qualcode as qc
from qualcode.coders import EmbeddingCoder, EnsembleCoder, KeywordCoder, LearnedCoder
from qualcode.project import Project
from qualcode.review.widget import ReviewQueue
from qualcode.testing import HashingEmbedder


def test_queue_relearns_after_each_decision_and_rescores_the_items_left(tmp_path, samples):
    corpus, _ = qc.load_corpus([samples / "transcripts" / "fg_cerroazul_diagnostico.txt"],
                               attributes=samples / "attributes.csv")
    with Project.create(tmp_path / "study.qualcode") as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        embedder = HashingEmbedder()
        learner = EnsembleCoder([KeywordCoder(), EmbeddingCoder(embedder), LearnedCoder(embedder)], top_k=3,
                                min_score=0.0).fit(project.codebook())
        queue = ReviewQueue(project, "ana", suggestions=learner.suggest(project.segments), learner=learner)
        before = queue.table["score"].astype(float).tolist()
        order = queue.table[["segment_id", "code_id"]].copy()
        for _ in range(8):
            queue.accept()
        assert learner.fusion_.n_coded_ > 0  # the decisions were learned from
        after = queue.table["score"].astype(float).tolist()
        left = range(queue.position, len(queue))
        assert len(left) and any(abs(before[i] - after[i]) > 1e-4 for i in left)
        assert queue.table[["segment_id", "code_id"]].equals(order)  # the queue's order is the reviewer's
