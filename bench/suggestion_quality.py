"""Suggestion quality of each method on two codebook shapes, beside the prior and the supervised reference.

Data sets (both on data_samples/, gold: Ana's independent coding of every participant turn, data_samples/coding/):
1. the sample codebook as shipped (labels, definitions, inclusion/exclusion, examples, keywords);
2. the same codebook stripped to labels and definitions, as codebooks from a paper or another tool arrive.

For each: ``qualcode.coders.evaluate.cross_validate`` (the function behind ``qualcode evaluate``), folds grouped by
participant, every method (keyword, embedding, learned, default = what ``qc.suggest`` gives) beside the frequency
prior, the content-only TF-IDF baseline and the supervised TF-IDF + logistic regression reference, all in the same
run; then the learning curve and the review-order simulation. Wall and CPU time per data set.

    python bench/suggestion_quality.py [--folds 5] [--embedder use] [--curve 0,3,5,10,20] [--review 50,100,200]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["system", "kind", "precision", "recall", "f1", "macro_f1", "kappa", "recall_at_k", "no_suggestion", "ece"]


def stripped(codebook):
    """The codebook with labels and definitions only: no examples, keywords, inclusion or exclusion criteria."""
    from qualcode.codebook import Code, Codebook

    codes = [Code(c.id, label=dict(c.label), definition=dict(c.definition)) for c in codebook]
    return Codebook(id=f"{codebook.id}_labels_definitions", title=dict(codebook.title), codes=codes)


def numbers(spec: str) -> tuple[int, ...]:
    return tuple(int(v) for v in spec.split(",") if v.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--embedder", default="use")
    parser.add_argument("--curve", default="0,3,5,10,20")
    parser.add_argument("--review", default="50,100,200")
    args = parser.parse_args()
    import qualcode as qc
    from qualcode.coders.evaluate import cross_validate

    samples = ROOT / "data_samples"
    corpus, _ = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
    gold = pd.read_csv(samples / "coding" / "ana.csv")
    segments = corpus.segments
    read = set(gold["doc_id"])
    part = segments[(segments["speaker_role"] == "participant") & segments["doc_id"].isin(read)].reset_index(drop=True)
    shipped = qc.load_codebook("nic_study")
    datasets = {"sample codebook with examples": shipped, "labels + definitions only": stripped(shipped)}
    print(f"corpus: {len(corpus.documents)} documents, {len(part)} participant segments, "
          f"{part['participant'].nunique()} participants; gold: Ana, {len(gold)} codings of "
          f"{gold['code_id'].nunique()} codes; codebook: {len(shipped)} codes")
    summaries, curves = [], []
    for name, codebook in datasets.items():
        wall, cpu = time.perf_counter(), time.process_time()
        result = cross_validate(part, codebook, gold, part["participant"].astype(str), folds=args.folds,
                                curve=numbers(args.curve), review=numbers(args.review), embedder=args.embedder,
                                grouped_by="participant")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"\n== {name}: {result.folds}-fold, grouped by {result.grouped_by}; {wall:.0f} s wall, "
              f"{cpu:.0f} s CPU")
        for note in result.notes:
            print(f"note: {note}")
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(result.summary[COLUMNS].round(3).to_string(index=False))
            print(result.curve.round(3).to_string(index=False))
        summaries.append(result.summary.assign(dataset=name))
        curves.append(result.curve.assign(dataset=name))
    table = pd.concat(summaries, ignore_index=True)
    print("\n== side by side: micro F1 / recall@3 (prior and supervised reference measured in the same run)")
    side = table.assign(cell=table["f1"].map("{:.3f}".format) + " / " + table["recall_at_k"].map("{:.3f}".format))
    print(side.pivot(index="system", columns="dataset", values="cell").reindex(
        [s for s in ("keyword", "embedding", "learned", "default", "prior", "content", "supervised")
         if s in set(side["system"])]).to_string())


if __name__ == "__main__":
    main()
