"""How fast do suggestions learn? Learning curves of review orders and of the fusion's weights, two codebook shapes.

Data: the sample (data_samples/, every participant turn Ana read; gold: her coding, data_samples/coding/ana.csv),
with the shipped codebook and with the same codebook stripped to labels + definitions. Folds are grouped by
participant (5): nothing a held-out participant said is ever learned from. Every figure is micro F1 of the default
suggestions (top 3, ``min_score`` as shipped) and recall@3 of the full ranking, over the held-out turns of all
folds pooled; "± x" is the standard deviation over seeds.

1. **Review order.** The queue is the zero-shot default suggestions for the training participants. After N
   suggestions reviewed (accepted where Ana coded the pair, rejected where not) in document order, in random
   order (seeds) or in ``learn`` order (:func:`qualcode.coders.active.learning_order`, what
   ``qualcode review export --order learn`` uses: a segment at a time, by uncertainty × diversity), the ensemble
   learns from those decisions (``EnsembleCoder.update``) and suggests for the held-out participants.
   ``learn (diversity only)`` is the same order with every score at the boundary (farthest-first over the
   segments, k-center greedy), measured in the same run.
2. **Fusion weights.** N accepted examples per code drawn at random (seeds) from the training folds, as
   ``qualcode evaluate``'s learning curve; the fusion's pull toward its prior chosen by cross-validation on
   those decisions (the default, :data:`qualcode.coders.fusion.STRENGTHS`), against the documented fixed pull
   and against the prior alone, measured in the same run.

Wall and CPU time per part.

    PYTHONPATH=$PWD python bench/learning_curve.py [--embedder use] [--budgets 25,50,100,200,400] [--seeds 3]
        [--per-code 0,3,5,10,20] [--part order|fusion|both]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def stripped(codebook):
    """The codebook with labels and definitions only: no examples, keywords, inclusion or exclusion criteria."""
    from qualcode.codebook import Code, Codebook

    codes = [Code(c.id, label=dict(c.label), definition=dict(c.definition)) for c in codebook]
    return Codebook(id=f"{codebook.id}_labels_definitions", title=dict(codebook.title), codes=codes)


def numbers(spec: str) -> tuple[int, ...]:
    return tuple(int(v) for v in spec.split(",") if v.strip())


class Sample:
    """The sample's participant turns, Ana's coding, the folds, and the scoring of a pooled ranking."""

    def __init__(self, folds: int = 5) -> None:
        from sklearn.model_selection import GroupKFold

        import qualcode as qc

        samples = ROOT / "data_samples"
        corpus, _ = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
        self.gold = pd.read_csv(samples / "coding" / "ana.csv")
        segments = corpus.segments
        self.turns = segments[(segments["speaker_role"] == "participant")
                              & segments["doc_id"].isin(set(self.gold["doc_id"]))].reset_index(drop=True)
        self.pairs = set(zip(self.gold["segment_id"], self.gold["code_id"], strict=True))
        self.texts = self.turns.set_index("segment_id")["text"]
        self.reading = {s: i for i, s in enumerate(self.turns["segment_id"])}
        groups = self.turns["participant"].astype(str)
        self.folds = [(self.turns.iloc[tr], self.turns.iloc[te])
                      for tr, te in GroupKFold(n_splits=folds).split(self.turns, groups=groups)]

    def decisions(self, rows: pd.DataFrame, *, all_accepted: bool = False) -> pd.DataFrame:
        """Reviewed (segment, code) rows as Ana's decisions: accept where she coded the pair, reject where not."""
        yes = np.ones(len(rows), dtype=bool) if all_accepted else np.array(
            [p in self.pairs for p in zip(rows["segment_id"], rows["code_id"], strict=True)], dtype=bool)
        return pd.DataFrame({"segment_id": rows["segment_id"].to_numpy(), "code_id": rows["code_id"].to_numpy(),
                             "decision": np.where(yes, "accept", "reject"), "coder": "ana",
                             "doc_id": rows["segment_id"].map(self.turns.set_index("segment_id")["doc_id"]).to_numpy(),
                             "participant": rows["segment_id"].map(
                                 self.turns.set_index("segment_id")["participant"]).astype(str).to_numpy(),
                             "quote": rows["segment_id"].map(self.texts).to_numpy()})

    def score(self, ranking: pd.DataFrame) -> tuple[float, float]:
        """Micro F1 of the default cut and recall@3 of the full ranking, over every turn."""
        from qualcode.coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K

        shown = ranking[(ranking["rank"] <= DEFAULT_TOP_K) & (ranking["score"] >= DEFAULT_MIN_SCORE)]
        predicted = set(zip(shown["segment_id"], shown["code_id"], strict=True))
        tp = len(predicted & self.pairs)
        precision = tp / len(predicted) if predicted else 0.0
        recall = tp / len(self.pairs)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        top = ranking[ranking["rank"] <= 3]
        return f1, len(set(zip(top["segment_id"], top["code_id"], strict=True)) & self.pairs) / len(self.pairs)


def ensemble(codebook, embedder: str, cache):
    from qualcode.coders import EmbeddingCoder, EnsembleCoder, KeywordCoder, LearnedCoder

    members = [KeywordCoder(), EmbeddingCoder(embedder, cache=cache), LearnedCoder(embedder, cache=cache)]
    if not any(c.keywords.get("es") or c.keywords.get("en") for c in codebook):
        members = members[1:]  # as qc.suggest does: no keyword coder without keywords
    return EnsembleCoder(members, top_k=None, min_score=0.0).fit(codebook)


def cell(values: list[float]) -> str:
    return f"{np.mean(values):.3f}" + (f" ± {np.std(values):.3f}" if len(values) > 1 else "")


def review_orders(sample: Sample, coder, budgets: tuple[int, ...], seeds: int) -> pd.DataFrame:
    from qualcode.coders.active import learning_order
    from qualcode.coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K

    zero = coder.scores(sample.turns)
    rows = []
    orders = ["document", *[f"random {s}" for s in range(seeds)], "learn", "learn (diversity only)"]
    pooled: dict[tuple[str, int], list[pd.DataFrame]] = {}
    accepted: dict[tuple[str, int], int] = {}
    for train, test in sample.folds:
        queue = zero[zero["segment_id"].isin(set(train["segment_id"])) & (zero["rank"] <= DEFAULT_TOP_K)
                     & (zero["score"] >= DEFAULT_MIN_SCORE)].copy()
        queue["reading"] = queue["segment_id"].map(sample.reading)
        queue = queue.sort_values(["reading", "score", "code_id"], ascending=[True, False, True],
                                  kind="stable").reset_index(drop=True)
        queue["text"] = queue["segment_id"].map(sample.texts)
        positions = {"document": np.arange(len(queue)), "learn": learning_order(queue),
                     "learn (diversity only)": learning_order(queue.assign(score=0.5))}
        for s in range(seeds):
            positions[f"random {s}"] = np.random.default_rng(s).permutation(len(queue))
        for name in orders:
            for n in budgets:
                decided = sample.decisions(queue.iloc[positions[name][:n]])
                coder.update(decided)
                pooled.setdefault((name, n), []).append(coder.scores(test))
                accepted[(name, n)] = accepted.get((name, n), 0) + int((decided["decision"] == "accept").sum())
    coder.update(sample.decisions(zero.iloc[:0]))
    for (name, n), parts in pooled.items():
        f1, r3 = sample.score(pd.concat(parts, ignore_index=True))
        rows.append({"order": "random" if name.startswith("random") else name, "n": n, "f1": f1, "r3": r3,
                     "accepted": accepted[(name, n)] / len(sample.folds)})
    return pd.DataFrame(rows)


def fusion_pulls(sample: Sample, coder, per_code: tuple[int, ...], seeds: int) -> pd.DataFrame:
    import qualcode.coders.fusion as fusion

    documented = (fusion.PRIOR_STRENGTH, fusion.CODE_STRENGTH)
    variants = {"cross-validated (default)": fusion.STRENGTHS, "documented fixed pull": (documented,),
                "prior alone": ((np.inf, np.inf),)}
    rows, chosen = [], []
    try:
        for seed in range(seeds):
            pooled: dict[tuple[str, int], list[pd.DataFrame]] = {}
            for fold, (train, test) in enumerate(sample.folds):
                train_gold = sample.gold[sample.gold["segment_id"].isin(set(train["segment_id"]))]
                rng = np.random.default_rng(1000 * seed + fold)
                for n in per_code:
                    picked: set[str] = set()
                    if n:
                        for _, group in train_gold.groupby("code_id", sort=True):
                            ids = sorted(set(group["segment_id"]))
                            picked.update(rng.choice(ids, size=min(n, len(ids)), replace=False).tolist())
                    decided = sample.decisions(train_gold[train_gold["segment_id"].isin(picked)], all_accepted=True)
                    zero = None
                    for name, strengths in variants.items():
                        if not n and zero is not None:  # no decision: every variant is the prior
                            pooled.setdefault((name, n), []).append(zero)
                            continue
                        fusion.STRENGTHS = strengths
                        coder.update(decided)
                        if name.startswith("cross") and n:
                            chosen.append(coder.fusion_.strengths_)
                        zero = coder.scores(test)
                        pooled.setdefault((name, n), []).append(zero)
            for (name, n), parts in pooled.items():
                f1, r3 = sample.score(pd.concat(parts, ignore_index=True))
                rows.append({"fusion": name, "n": n, "seed": seed, "f1": f1, "r3": r3})
    finally:
        fusion.STRENGTHS = variants["cross-validated (default)"]
    out = pd.DataFrame(rows)
    out.attrs["chosen"] = pd.Series([f"{p:g}/{c:g}" for p, c in chosen]).value_counts().to_dict()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="use")
    parser.add_argument("--budgets", default="25,50,100,200,400")
    parser.add_argument("--per-code", default="0,3,5,10,20")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--part", default="both", choices=["order", "fusion", "both"])
    parser.add_argument("--codebooks", default="examples,definitions",
                        help="which shapes: examples (as shipped), definitions (labels + definitions only)")
    args = parser.parse_args()
    import qualcode as qc
    from qualcode.coders import MemoryEmbeddingCache

    sample = Sample()
    shipped = qc.load_codebook("nic_study")
    print(f"qualcode {qc.__file__}")
    print(f"{len(sample.turns)} participant turns of {sample.turns['participant'].nunique()} participants, "
          f"{len(sample.pairs)} coded pairs (Ana), {len(sample.folds)} folds by participant")
    cache = MemoryEmbeddingCache()
    shapes = {"examples": ("sample codebook with examples", shipped),
              "definitions": ("labels + definitions only", stripped(shipped))}
    for name, codebook in (shapes[k] for k in args.codebooks.split(",") if k.strip()):
        coder = ensemble(codebook, args.embedder, cache)
        zero = sample.score(coder.scores(sample.turns))
        print(f"\n== {name}: zero-shot F1 {zero[0]:.3f}, recall@3 {zero[1]:.3f}")
        if args.part in ("order", "both"):
            wall, cpu = time.perf_counter(), time.process_time()
            table = review_orders(sample, coder, numbers(args.budgets), args.seeds)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"-- review order: F1 / recall@3 after N suggestions reviewed ({wall:.0f} s wall, {cpu:.0f} s CPU)")
            grid = table.groupby(["order", "n"]).agg(f1=("f1", list), r3=("r3", list), acc=("accepted", "mean"))
            shown = pd.DataFrame({n: [f"{cell(grid.loc[(o, n), 'f1'])} / {cell(grid.loc[(o, n), 'r3'])} "
                                      f"({grid.loc[(o, n), 'acc']:.0f} acc.)" for o in grid.index.levels[0]]
                                  for n in sorted(set(table["n"]))}, index=list(grid.index.levels[0]))
            order = [o for o in ("document", "random", "learn (diversity only)", "learn") if o in shown.index]
            with pd.option_context("display.width", 250, "display.max_colwidth", 60):
                print(shown.loc[order].to_string())
        if args.part in ("fusion", "both"):
            wall, cpu = time.perf_counter(), time.process_time()
            table = fusion_pulls(sample, coder, numbers(args.per_code), args.seeds)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"-- fusion weights: F1 / recall@3 after N accepted examples per code ({wall:.0f} s wall, "
                  f"{cpu:.0f} s CPU); pulls chosen: {table.attrs['chosen']}")
            grid = table.groupby(["fusion", "n"]).agg(f1=("f1", list), r3=("r3", list))
            shown = pd.DataFrame({n: [f"{cell(grid.loc[(v, n), 'f1'])} / {cell(grid.loc[(v, n), 'r3'])}"
                                      for v in grid.index.levels[0]] for n in sorted(set(table["n"]))},
                                 index=list(grid.index.levels[0]))
            with pd.option_context("display.width", 250, "display.max_colwidth", 60):
                print(shown.to_string())


if __name__ == "__main__":
    main()
