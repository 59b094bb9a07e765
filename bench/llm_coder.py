"""The coders with and without the LLM on the sample, against the two human codings, in one run.

Needs your own OpenAI-compatible server (Ollama, llama.cpp, vLLM): the sample transcripts are sent to
``--base-url`` and nowhere else. Prints, against Ana and against Luis (micro P, R, F1, κ, recall@3):

1. the most-frequent-codes baseline and the zero-shot ensemble (keyword + embedding), without the LLM;
2. the LLM alone and the ensemble with the LLM, zero-shot (no decisions used);
3. with ``--few-shot``: the LLM shown the nearest of Ana's codings of *other* participants (GroupKFold by
   participant, as bench/evaluate_coders.py), alone and in the ensemble, against Ana;
4. what the LLM coder did: requests, answers read, codes refused, quotes not in the text (hallucination
   rate), and wall and CPU time beside the ensemble's;
5. with ``--evaluate``: what ``qualcode evaluate --llm`` prints on the sample against Ana's coding (keyword,
   embedding, default, llm, default+llm beside the prior, content-only and supervised baselines, same folds).

    python bench/llm_coder.py --base-url http://localhost:11434/v1 --model qwen2.5:7b-instruct [--few-shot]
        [--evaluate] [--limit 200] [--embedder use] [--concurrency 4] [--timeout 300]

``--limit N`` codes only the first N participant segments (in document order) for a quick look; the
figures are then over those segments only. Answers are kept in memory for the run only.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def micro(table: pd.DataFrame, system: str = "coder") -> pd.Series:
    return table[(table["system"] == system) & (table["level"] == "micro (code)")].iloc[0]


def line(name: str, row: pd.Series) -> str:
    return (f"{name:<40} P {row['precision']:.3f}  R {row['recall']:.3f}  F1 {row['f1']:.3f}  "
            f"κ {row['kappa']:.3f}  R@3 {row['recall_at_k']:.3f}")


def clock() -> tuple[float, float]:
    times = os.times()
    return time.perf_counter(), times.user + times.system


def since(start: tuple[float, float]) -> str:
    wall, cpu = clock()
    return f"{wall - start[0]:.1f} s wall, {cpu - start[1]:.1f} s CPU"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base-url", required=True, help="your server's OpenAI-compatible base URL")
    parser.add_argument("--model", required=True, help="the model's name on that server")
    parser.add_argument("--api-key", default=os.environ.get("QUALCODE_LLM_API_KEY"))
    parser.add_argument("--few-shot", action="store_true", help="also run the grouped cross-validation")
    parser.add_argument("--evaluate", action="store_true",
                        help="also run qualcode evaluate's cross-validation with the LLM (systems llm, default+llm)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="only the first N participant segments")
    parser.add_argument("--embedder", default="use")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)

    import qualcode as qc
    from qualcode.coders import EmbeddingCoder, KeywordCoder, LLMCoder, MemoryResponseCache, evaluate
    from qualcode.coders.ensemble import DEFAULT_MIN_SCORE, DEFAULT_TOP_K, combine

    samples = ROOT / "data_samples"
    corpus, _ = qc.load_corpus(samples / "transcripts", attributes=samples / "attributes.csv")
    codebook = qc.load_codebook("nic_study")
    segments = corpus.segments
    part = segments[segments["speaker_role"] == "participant"].reset_index(drop=True)
    if args.limit:
        part = part.head(args.limit).reset_index(drop=True)
        # Keep the interviewer turns of those documents: the question before each segment is sent with it.
        segments = segments[segments["doc_id"].isin(set(part["doc_id"]))
                            & ((segments["speaker_role"] != "participant")
                               | segments["segment_id"].isin(set(part["segment_id"])))]
    gold = {name: pd.read_csv(samples / "coding" / f"{name}.csv") for name in ("ana", "luis")}
    print(f"corpus: {len(part)} participant segments of {segments['doc_id'].nunique()} documents; codebook "
          f"{codebook.id} ({len(codebook)} codes); model {args.model!r} at {args.base_url}")

    def cut(parts: list[pd.DataFrame]) -> pd.DataFrame:
        return combine(parts, top_k=DEFAULT_TOP_K, min_score=DEFAULT_MIN_SCORE)

    start = clock()
    kw = KeywordCoder().fit(codebook).suggest(segments)
    em = EmbeddingCoder(args.embedder, min_score=0.0).fit(codebook).suggest(segments)
    t_zero = since(start)

    cache = MemoryResponseCache()

    def llm_coder() -> LLMCoder:
        # min_score 0: every code of an answered segment, so that a code the model left out counts against it
        # in the fusion (alone, the cut below drops those at the "none" level).
        return LLMCoder(args.base_url, args.model, args.api_key, cache=cache, concurrency=args.concurrency,
                        timeout=args.timeout, min_score=0.0)

    start = clock()
    llm = llm_coder().fit(codebook)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ll = llm.suggest(segments)
    t_llm = since(start)
    for warning in caught:
        print(f"warning: {warning.message}")

    systems = {"zero-shot ensemble (keyword+embedding)": [kw, em], "LLM alone": [ll],
               "ensemble + LLM": [kw, em, ll]}
    print("\n1-2. Without and with the LLM, zero-shot (no decisions used)")
    for reference in ("ana", "luis"):
        table = None
        for name, parts in systems.items():
            table = evaluate(cut(parts), gold[reference], segments=part, k=3)
            print(line(f"{name} vs {reference}", micro(table)))
        assert table is not None
        print(line(f"baseline (top-3 frequent) vs {reference}", micro(table, system="baseline")))

    if args.few_shot:
        from sklearn.model_selection import GroupKFold

        print(f"\n3. Few-shot from Ana's codings of other participants ({args.folds}-fold, grouped by participant)")
        focus = part["doc_id"].str.startswith("fg_")
        groups = np.where(focus, part["doc_id"] + ":" + part["speaker"].astype(str), part["participant"].astype(str))
        texts = part.set_index("segment_id")["text"]
        coding = gold["ana"]
        alone, fused = [], []
        for train, test in GroupKFold(n_splits=args.folds).split(part, groups=groups):
            train_ids = set(part.loc[train, "segment_id"])
            test_ids = set(part.loc[test, "segment_id"])
            decisions = coding[coding["segment_id"].isin(train_ids)]
            decisions = decisions.assign(decision="accept", quote=decisions["segment_id"].map(texts))
            held = segments[~segments["segment_id"].isin(train_ids)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                shot = llm_coder().fit(codebook, decisions).suggest(held)
            shot = shot[shot["segment_id"].isin(test_ids)]
            alone.append(cut([shot]))
            fused.append(cut([kw[kw["segment_id"].isin(test_ids)], em[em["segment_id"].isin(test_ids)], shot]))
        print(line("LLM few-shot (held out) vs ana", micro(evaluate(pd.concat(alone), coding, segments=part, k=3))))
        print(line("ensemble + LLM few-shot (held out) vs ana",
                   micro(evaluate(pd.concat(fused), coding, segments=part, k=3))))

    report = llm.report_
    print("\n4. What the LLM coder did (zero-shot run)")
    print(f"  {report.summary()}")
    print(f"  HTTP requests {report.n_requests}; response_format used: {report.response_format}; "
          f"fuzzy quote matches kept: {report.n_fuzzy}; hallucination rate {report.hallucination_rate:.1%}")
    print(f"  time: keyword+embedding {t_zero}; LLM {t_llm}")

    if args.evaluate:
        from qualcode.coders.evaluate import cross_validate

        print(f"\n5. qualcode evaluate with the LLM, against Ana ({args.folds}-fold, grouped by participant)")
        focus = part["doc_id"].str.startswith("fg_")
        groups = np.where(focus, part["doc_id"] + ":" + part["speaker"].astype(str), part["participant"].astype(str))
        start = clock()
        result = cross_validate(part, codebook, gold["ana"], groups, methods=("keyword", "embedding", "default"),
                                folds=args.folds, curve=(), review=(), embedder=args.embedder, llm=llm_coder())
        columns = ["system", "precision", "recall", "f1", "macro_f1", "kappa", "recall_at_k", "ece"]
        print(result.summary[columns].round(3).to_string(index=False))
        for note in result.notes:
            print(f"  note: {note}")
        print(f"  time: {since(start)}")


if __name__ == "__main__":
    main()
