"""Evaluate the coders against the sample's two human codings, with grouped cross-validation for learning.

Prints, in one run on data_samples/:
1. human agreement (Luis against Ana) as the ceiling to read the rest against;
2. zero-shot coders (keyword, embedding, ensemble) against Ana and Luis, beside the
   most-frequent-codes baseline computed in the same run;
3. the top_k × min_score sweep that chose the ensemble's defaults;
4. learned vs zero-shot on held-out participants (GroupKFold by participant: a participant's
   interviews are never in both the training and the test folds);
5. per-dimension and per-code figures of the final ensemble, so the weak codes are visible.

    python bench/evaluate_coders.py [--folds 5] [--embedder use]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def micro(table: pd.DataFrame, system: str = "coder", level: str = "micro (code)") -> pd.Series:
    return table[(table["system"] == system) & (table["level"] == level)].iloc[0]


def line(name: str, row: pd.Series) -> str:
    return (f"{name:<34} P {row['precision']:.3f}  R {row['recall']:.3f}  F1 {row['f1']:.3f}  "
            f"κ {row['kappa']:.3f}  R@3 {row['recall_at_k']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--embedder", default="use")
    args = parser.parse_args()
    import qualcode as qc
    from qualcode.coders import EmbeddingCoder, KeywordCoder, LearnedCoder, evaluate
    from qualcode.coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K, combine

    samples = ROOT / "data_samples"
    corpus, _ = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
    codebook = qc.load_codebook("nic_study")
    segments = corpus.segments
    part = segments[segments["speaker_role"] == "participant"].reset_index(drop=True)
    gold = {name: pd.read_csv(ROOT / "data_samples" / "coding" / f"{name}.csv") for name in ("ana", "luis")}
    print(f"corpus: {len(corpus.documents)} documents, {len(part)} participant segments; codebook "
          f"{codebook.id} ({len(codebook)} codes); gold: ana {len(gold['ana'])} codings, luis {len(gold['luis'])}")

    print("\n1. Human agreement (Luis against Ana, same segments)")
    human = evaluate(gold["luis"], gold["ana"], segments=part, k=3)
    print(line("luis vs ana", micro(human)))
    print(line("luis vs ana, dimensions", micro(human, level="micro (dimension)")))

    print("\n2. Zero-shot coders (no decisions used)")
    t = time.perf_counter()
    kw = KeywordCoder().fit(codebook).suggest(segments)
    t_kw = time.perf_counter() - t
    t = time.perf_counter()
    em = EmbeddingCoder(args.embedder, min_score=0.0).fit(codebook).suggest(segments)
    t_em = time.perf_counter() - t
    systems = {"keyword": [kw], "embedding": [em], "ensemble (keyword+embedding)": [kw, em]}
    for reference in ("ana", "luis"):
        for name, parts in systems.items():
            table = evaluate(combine(parts, top_k=DEFAULT_TOP_K, min_score=DEFAULT_MIN_SCORE), gold[reference],
                             segments=part, k=3)
            print(line(f"{name} vs {reference}", micro(table)))
        print(line(f"baseline (top-3 frequent) vs {reference}", micro(table, system="baseline")))
    print(f"(keyword coder {t_kw:.1f} s, embedding coder {t_em:.1f} s including model load)")

    print("\n3. Sweep for the ensemble's defaults (micro-F1 against Ana)")
    grid = []
    for k in (1, 2, 3, 4, 5):
        for min_score in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            f1 = micro(evaluate(combine([kw, em], top_k=k, min_score=min_score), gold["ana"], segments=part))["f1"]
            grid.append((k, min_score, f1))
    sweep = pd.DataFrame(grid, columns=["top_k", "min_score", "f1"]).pivot(index="min_score", columns="top_k",
                                                                            values="f1")
    print(sweep.round(3).to_string())
    best = max(grid, key=lambda g: g[2])
    print(f"best: top_k={best[0]}, min_score={best[1]} (F1 {best[2]:.3f}); "
          f"defaults in use: top_k={DEFAULT_TOP_K}, min_score={DEFAULT_MIN_SCORE}")

    print(f"\n4. Learning from decisions: {args.folds}-fold cross-validation grouped by participant (gold: Ana)")
    from sklearn.model_selection import GroupKFold

    participant = part["participant"].astype(str)
    focus = part["doc_id"].str.startswith("fg_")
    groups = np.where(focus, part["doc_id"] + ":" + part["speaker"].astype(str), participant)
    texts = part.set_index("segment_id")["text"]
    coding = gold["ana"]
    held_zero, held_learned = [], []
    for fold, (train, test) in enumerate(GroupKFold(n_splits=args.folds).split(part, groups=groups), 1):
        train_ids = set(part.loc[train, "segment_id"])
        test_segments = part.loc[test]
        decisions = coding[coding["segment_id"].isin(train_ids)]
        decisions = decisions.assign(decision="accept", quote=decisions["segment_id"].map(texts))
        # Segments Ana looked at and left uncoded are counter-examples too.
        seen = part.loc[train, "segment_id"]
        uncoded = seen[~seen.isin(decisions["segment_id"])]
        learned = LearnedCoder(args.embedder).fit(codebook, decisions)
        kw_t = kw[kw["segment_id"].isin(test_segments["segment_id"])]
        em_t = em[em["segment_id"].isin(test_segments["segment_id"])]
        zero = combine([kw_t, em_t], top_k=DEFAULT_TOP_K, min_score=DEFAULT_MIN_SCORE)
        with_learning = combine([kw_t, em_t, learned.suggest(test_segments)], top_k=DEFAULT_TOP_K,
                                min_score=DEFAULT_MIN_SCORE)
        held_zero.append(zero)
        held_learned.append(with_learning)
        print(f"  fold {fold}: {len(set(groups[train]))} participants train, {len(set(groups[test]))} test; "
              f"{len(learned.models_)} codes learned ({len(uncoded)} uncoded training segments not used)")
    zero_all = evaluate(pd.concat(held_zero), coding, segments=part, k=3)
    learned_all = evaluate(pd.concat(held_learned), coding, segments=part, k=3)
    print(line("zero-shot ensemble (held out)", micro(zero_all)))
    print(line("ensemble + learned (held out)", micro(learned_all)))
    print(line("baseline (held out)", micro(zero_all, system="baseline")))
    gain = micro(learned_all)["f1"] - micro(zero_all)["f1"]
    print(f"learned - zero-shot: {gain:+.3f} micro-F1")

    print("\n5. Ensemble + learned, held out, per dimension and weakest/strongest codes")
    dims = learned_all[(learned_all["system"] == "coder") & (learned_all["level"] == "dimension")]
    print(dims[["code_id", "n_gold", "precision", "recall", "f1", "kappa"]].round(3).to_string(index=False))
    coder_rows = learned_all[learned_all["system"] == "coder"]
    codes = coder_rows[(coder_rows["level"] == "code") & (coder_rows["n_gold"] >= 5)]
    ordered = codes.sort_values("f1")
    print("weakest:")
    print(ordered.head(6)[["code_id", "n_gold", "precision", "recall", "f1"]].round(3).to_string(index=False))
    print("strongest:")
    print(ordered.tail(6)[["code_id", "n_gold", "precision", "recall", "f1"]].round(3).to_string(index=False))


if __name__ == "__main__":
    main()
