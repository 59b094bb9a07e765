"""The shipped samples keep the segment ids, speakers and roles they had before issue 16.

``tests/data/data_samples_segment_ids_turn.csv`` was computed with main's code
(commit 83d76c5) before the speaker-label work; a reader change that moves a
segment of an unchanged file would orphan every decision anchored to it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import qualcode as qc

ROOT = Path(__file__).resolve().parents[2]


def test_speaker_label_reading_keeps_segment_ids_of_unchanged_sample_files():
    before = pd.read_csv(ROOT / "tests/data/data_samples_segment_ids_turn.csv", dtype=str, keep_default_na=False)
    corpus, report = qc.load_corpus(ROOT / "data_samples/transcripts")
    after = corpus.segments[["doc_id", "segment_id", "speaker", "speaker_role"]].astype(str)
    assert list(after["segment_id"]) == list(before["segment_id"])
    assert list(after["speaker"]) == list(before["speaker"])
    assert list(after["speaker_role"]) == list(before["speaker_role"])
    assert (report["status"] != "error").all()
