"""Ranking quality of the default suggestions on the sample, with two codebook shapes, beside two baselines.

Measured against the sample's human coding (``data_samples/coding/ana.csv``; ``--gold luis`` for the other
coder) on every participant turn, with the shipped codebook ``nic_study`` as it is (labels, definitions,
criteria, examples, keywords) and stripped to labels + definitions:

* micro-F1 of the default suggestions (``top_k`` and ``min_score`` as shipped) and recall@3 of a full ranking
  (``top_k`` = every code, ``min_score=0``);
* the frequency prior (the 3 most frequent gold codes for every turn; it knows the gold coding) and a
  content-only baseline (TF-IDF cosine of each turn to each code's label + definition), measured in the
  same run;
* reliability of the scores: per band of score, the share of suggestions the coder coded;
* learning: 5-fold cross-validation grouped by participant, the default suggestions with the training
  folds' codings as accepted decisions, against zero-shot on the same held-out turns;
* wall and CPU time of each step.

Only the public API is used, so the same script measures another checkout (``PYTHONPATH=<checkout>``):

    PYTHONPATH=$PWD python bench/ranking_quality.py [--gold ana] [--folds 5] [--embedder use]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def stripped(codebook):
    """The codebook with labels and definitions only, as codebooks from a paper or another tool come."""
    from qualcode.codebook.model import Code

    codes = [Code(c.id, label=dict(c.label), definition=dict(c.definition)) for c in codebook]
    return dataclasses.replace(codebook, id=f"{codebook.id}_defs", codes=codes)


def scores(pred: pd.DataFrame, gold: set, ids: list[str], k: int = 3) -> tuple[float, float, float, float]:
    """micro precision, recall, F1 of ``pred``'s rows; recall@k of its ranking (its ``rank``, else by score)."""
    ids_set = set(ids)
    pairs = {p for p in zip(pred["segment_id"], pred["code_id"], strict=True) if p[0] in ids_set}
    g = {p for p in gold if p[0] in ids_set}
    tp = len(pairs & g)
    p = tp / len(pairs) if pairs else 0.0
    r = tp / len(g) if g else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    order = (["segment_id", "rank"], [True, True]) if "rank" in pred.columns else (
        ["segment_id", "score", "code_id"], [True, False, True])
    top = (pred[pred["segment_id"].isin(ids_set)].sort_values(order[0], ascending=order[1], kind="stable")
           .groupby("segment_id").head(k))
    hits = len(set(zip(top["segment_id"], top["code_id"], strict=True)) & g)
    return p, r, f1, hits / len(g) if g else 0.0


def line(name: str, p: float, r: float, f1: float, r3: float | None) -> str:
    at3 = "" if r3 is None else f"  R@3 {r3:.3f}"
    return f"  {name:<40} P {p:.3f}  R {r:.3f}  F1 {f1:.3f}{at3}"


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", default="ana", choices=["ana", "luis"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--embedder", default="use")
    parser.add_argument("--no-learning", action="store_true", help="skip the (slow) cross-validated learning")
    args = parser.parse_args()
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import GroupKFold

    import qualcode as qc
    from qualcode.coders import MemoryEmbeddingCache, suggest
    from qualcode.coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K, shown

    samples = ROOT / "data_samples"
    corpus, _ = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
    segments = corpus.segments
    part = segments[segments["speaker_role"] == "participant"].reset_index(drop=True)
    ids = list(part["segment_id"])
    coding = pd.read_csv(samples / "coding" / f"{args.gold}.csv")
    gold = set(zip(coding["segment_id"], coding["code_id"], strict=True))
    full = qc.load_codebook("nic_study")
    print(f"qualcode {qc.__file__}")
    print(f"{len(ids)} participant turns, {len(gold)} codings by {args.gold}; defaults top_k={DEFAULT_TOP_K}, "
          f"min_score={DEFAULT_MIN_SCORE}")
    frequent = coding["code_id"].value_counts()
    cache = MemoryEmbeddingCache()
    for book in (full, stripped(full)):
        codes = [c.id for c in book]
        print(f"\ncodebook {book.id}: {len(codes)} codes")
        prior = pd.DataFrame([(s, c, 1.0 / (1 + i)) for s in ids for i, c in enumerate(frequent.index[:3])],
                             columns=["segment_id", "code_id", "score"])
        print(line("prior: 3 most frequent gold codes", *scores(prior, gold, ids)))
        docs = [" ".join(x for lang in ("es", "en") for x in (c.label.get(lang, ""), c.definition.get(lang, "")))
                for c in book]
        tfidf = TfidfVectorizer(sublinear_tf=True).fit(list(part["text"]) + docs)
        sims = (tfidf.transform(part["text"]) @ tfidf.transform(docs).T).toarray()
        content = pd.DataFrame({"segment_id": np.repeat(ids, len(codes)), "code_id": np.tile(codes, len(ids)),
                                "score": sims.ravel()})
        content_top = content.sort_values("score", ascending=False, kind="stable").groupby("segment_id").head(1)
        print(line("content-only TF-IDF (top 1)", *scores(content_top, gold, ids)))
        print(line("content-only TF-IDF (ranking)", *scores(content, gold, ids)[:3], scores(content, gold, ids)[3]))
        for methods in (("keyword",), ("embedding",), ("keyword", "embedding")):
            name = "+".join(methods)
            (default, wall, cpu) = timed(lambda m=methods, b=book: suggest(segments, b, methods=m,
                                                                           embedder=args.embedder, cache=cache))
            ranking = suggest(segments, book, methods=methods, embedder=args.embedder, cache=cache,
                              top_k=len(codes), min_score=0.0)
            per_segment = ranking[ranking["segment_id"].isin(ids)].groupby("segment_id").size()
            p, r, f1, _ = scores(default, gold, ids)
            print(line(f"{name} default", p, r, f1, scores(ranking, gold, ids)[3])
                  + f"   full ranking: {per_segment.median():.0f} codes/turn; {wall:.1f} s wall {cpu:.1f} s CPU")
            cuts = []
            for cut in (0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.4):
                cuts.append(f"{cut}: {scores(shown(ranking, top_k=3, min_score=cut), gold, ids)[2]:.3f}")
            print("    F1 of the ranking's top 3 by min_score: " + ", ".join(cuts))
            if methods == ("keyword", "embedding"):
                top = ranking[ranking["segment_id"].isin(ids)]
                bands = pd.cut(top["score"], [0, .1, .2, .4, .6, .8, 1.0], include_lowest=True)
                hit = [(s, c) in gold for s, c in zip(top["segment_id"], top["code_id"], strict=True)]
                table = pd.DataFrame({"band": bands, "coded": hit, "score": top["score"]}).groupby(
                    "band", observed=True).agg(n=("coded", "size"), mean_score=("score", "mean"),
                                               coded=("coded", "mean"))
                print("  reliability of the full ranking (share coded by the human per score band):")
                print("    " + table.round(3).to_string().replace("\n", "\n    "))
                if not len(default):
                    continue
                print("  highest scores on turns the human left uncoded: "
                      f"{default[~default['segment_id'].isin({s for s, _ in gold})]['score'].max():.2f}")
        if args.no_learning:
            continue
        print(f"  learning, {args.folds} folds grouped by participant (training folds' codings as accepted):")
        groups = np.where(part["doc_id"].str.startswith("fg_"), part["doc_id"] + ":" + part["speaker"].astype(str),
                          part["participant"].astype(str))
        texts = part.set_index("segment_id")["text"]
        zero, learned = [], []
        t0 = time.perf_counter()
        for train, test in GroupKFold(n_splits=args.folds).split(part, groups=groups):
            train_ids = set(part.loc[train, "segment_id"])
            decisions = coding[coding["segment_id"].isin(train_ids)]
            decisions = decisions.assign(decision="accept", quote=decisions["segment_id"].map(texts),
                                         coder=args.gold)
            held = part.loc[test]
            zero.append(suggest(held, book, embedder=args.embedder, cache=cache))
            learned.append(suggest(held, book, decisions=decisions, embedder=args.embedder, cache=cache))
        print(line("zero-shot default (held out)", *scores(pd.concat(zero), gold, ids)))
        print(line("with decisions (held out)", *scores(pd.concat(learned), gold, ids))
              + f"   {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
