"""Learning from accepted codings beats the zero-shot coders on participants it has not seen (sample gold)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qualcode.coders.evaluate import grouped_cross_validation


@pytest.mark.slow
def test_learned_beats_zero_shot_in_grouped_cross_validation(samples, sample_corpus, study_codebook):
    part = sample_corpus.segments.query("speaker_role == 'participant'").reset_index(drop=True)
    groups = np.where(part["doc_id"].str.startswith("fg_"), part["doc_id"] + ":" + part["speaker"].astype(str),
                      part["participant"].astype(str))
    gold = pd.read_csv(samples / "coding" / "ana.csv")
    result = grouped_cross_validation(part, study_codebook, gold, groups, folds=5)

    def micro(table):
        return table.query("system == 'coder' and level == 'micro (code)'").iloc[0]

    zero, learned = micro(result["zero_shot"]), micro(result["learned"])
    baseline = result["zero_shot"].query("system == 'baseline' and level == 'micro (code)'").iloc[0]
    assert learned["f1"] > zero["f1"] + 0.03
    assert zero["f1"] > baseline["f1"]
