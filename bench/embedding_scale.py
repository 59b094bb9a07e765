"""The embedding coder at 0.1M and 1M words (10M with --sizes): CPU and wall time and peak memory per 1M words,
against the encoder's matmul floor and the raw encoder measured in the same run (issue 20).

Each size runs in its own process (so its peak RSS is its own), on a corpus from bench/realistic_corpus.py
written to disk by another process first (the generator's word tables do not count in the peak). In the
measuring process, in this order:

1. the corpus is read (RSS after reading is printed: what the coder's own memory is added to);
2. ``EmbeddingCoder.suggest`` with a fresh project cache, as a round runs it (windows, encoding, similarity,
   calibration, cache writes): CPU, wall, and the peak RSS right after it;
3. the same again with a second coder on the unchanged cache (the re-run: codebook and windows read back);
4. the raw encoder (``USEEmbedder.encode``) on the distinct windows the coder encoded, and
5. the floor: the encoder's matrix products alone on those windows (bench/round_scale.py's ``matmul_floor``).

The ratios say how far the coder is from what no implementation can go under (the floor) and from the bare
model (raw encode). ``--profile`` prints where suggest's CPU time goes (cProfile, by own time).

    python bench/embedding_scale.py                    # 0.1M and 1M words
    python bench/embedding_scale.py --sizes 100000 --profile
    python bench/embedding_scale.py --sizes 10000000   # about 20 minutes of CPU on a laptop
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
# One clock and the targets for every scale bench (this process only: the coder runs with one worker).
from round_scale import TARGET_FLOOR_RATIO, TARGET_RSS_MIB, Clock  # noqa: E402 - bench/ is on the path above


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate_corpus(folder: Path, words: int) -> dict:
    from realistic_corpus import generate

    stats = generate(folder, words)
    return {"corpus": stats.line(), "words": stats.words}


def measure(folder: Path, profile: bool) -> dict:
    import qualcode as qc
    from qualcode.coders import EmbeddingCoder
    from qualcode.coders.embedders import USEEmbedder
    from qualcode.coders.embedding import windows

    out: dict = {}
    codebook = qc.load_codebook("nic_study")
    corpus, _ = qc.load_corpus(folder)
    segments = corpus.segments
    del corpus
    out["rss_loaded_mib"] = _rss_mib()
    with tempfile.TemporaryDirectory() as tmp, qc.Project.create(Path(tmp) / "bench.qualcode") as project:
        coder = EmbeddingCoder(cache=project.embedding_cache()).fit(codebook)
        coder.suggest(segments.head(20))  # the model loaded; its texts are few and not counted below
        encoded_before = coder.embedder_.n_encoded
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile(time.process_time)  # CPU: the machine may be shared
            profiler.enable()
        with Clock() as first:
            found = coder.suggest(segments)
        if profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
        out["rss_suggest_mib"] = _rss_mib()
        out["suggest"] = [first.wall, first.cpu]
        out["suggestions"] = len(found)
        out["encoded"] = coder.embedder_.n_encoded - encoded_before
        del found
        with Clock() as again:
            second = EmbeddingCoder(cache=project.embedding_cache()).fit(codebook)
            second.suggest(segments)
        out["rerun"] = [again.wall, again.cpu]
        out["rerun_encoded"] = second.embedder_.n_encoded
    units = segments[segments["speaker_role"] == "participant"]
    texts = [str(t)[a:b] for t in units["text"] for a, b in windows(str(t), coder.max_words)]
    distinct = list(dict.fromkeys(texts))
    out["windows"], out["distinct_windows"] = len(texts), len(distinct)
    out["participant_words"] = int(units["text"].str.split().str.len().sum())
    raw = USEEmbedder()
    raw.encode(["calentar el modelo"])
    with Clock() as encode:
        raw.encode(distinct)
    out["raw_encode"] = [encode.wall, encode.cpu]
    from round_scale import matmul_floor

    out["floor_cpu"] = matmul_floor(distinct)
    return out


def one_size(words: int, profile: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        made = _child(["--generate", str(folder), str(words)])
        measured = _child(["--measure", str(folder)] + (["--profile"] if profile else []))
    return {"words_asked": words, **made, **measured}


def _child(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        sys.exit(f"child {args} failed:\n{done.stderr[-3000:]}")
    if len(lines) > 1:  # the profile, printed before the figures
        print("\n".join(lines[:-1]))
    return json.loads(lines[-1])


def report(results: list[dict]) -> None:
    for r in results:
        per = r["words"] / 1e6
        wall, cpu = r["suggest"]
        floor, (enc_wall, enc_cpu) = r["floor_cpu"], r["raw_encode"]
        print(f"\n== {r['words']:,} words: {r['corpus']}")
        print(f"   {r['windows']:,} windows of participant turns, {r['distinct_windows']:,} distinct "
              f"({1 - r['distinct_windows'] / r['windows']:.1%} repeated); {r['encoded']:,} texts encoded")
        print(f"   EmbeddingCoder.suggest: {wall:.1f} s wall, {cpu:.1f} s CPU ({cpu / per:.1f} s CPU per 1M words), "
              f"{r['suggestions']:,} suggestions")
        print(f"   raw USE encode of the distinct windows: {enc_wall:.1f} s wall, {enc_cpu:.1f} s CPU "
              f"({enc_cpu / per:.1f} s per 1M words); "
              f"suggest {cpu / enc_cpu:.2f}x the raw encoder")
        print(f"   encoder matmul floor: {floor:.1f} s CPU ({floor / per:.1f} s per 1M words); suggest "
              f"{cpu / floor:.2f}x the floor (round target <= {TARGET_FLOOR_RATIO}x: "
              f"{'met' if cpu / floor <= TARGET_FLOOR_RATIO else 'NOT met'}); raw encode {enc_cpu / floor:.2f}x")
        rerun_wall, rerun_cpu = r["rerun"]
        print(f"   re-run on the unchanged cache (fit + suggest): {rerun_wall:.1f} s wall, {rerun_cpu:.1f} s CPU "
              f"({rerun_cpu / cpu:.1%} of the first), {r['rerun_encoded']} texts encoded")
        print(f"   peak RSS: {r['rss_suggest_mib']:,.0f} MiB after suggest ({r['rss_loaded_mib']:,.0f} MiB with the "
              f"corpus read; target < {TARGET_RSS_MIB} MiB: "
              f"{'met' if r['rss_suggest_mib'] < TARGET_RSS_MIB else 'NOT met'})")


def main() -> None:
    if sys.argv[1:2] == ["--generate"]:
        print(json.dumps(generate_corpus(Path(sys.argv[2]), int(sys.argv[3]))))
        return
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(Path(sys.argv[2]), "--profile" in sys.argv)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--profile", action="store_true", help="print where suggest's time goes")
    args = parser.parse_args()
    results = []
    for words in args.sizes:
        results.append(one_size(words, args.profile))
        report(results[-1:])
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(f"\npeak RSS {large['rss_suggest_mib']:,.0f} MiB at {large['words']:,} words against "
              f"{small['rss_suggest_mib']:,.0f} MiB at {small['words']:,} "
              f"({large['rss_suggest_mib'] / small['rss_suggest_mib'] - 1:+.0%}); the coder's own memory beyond "
              f"the corpus read: {large['rss_suggest_mib'] - large['rss_loaded_mib']:,.0f} against "
              f"{small['rss_suggest_mib'] - small['rss_loaded_mib']:,.0f} MiB")


if __name__ == "__main__":
    main()
