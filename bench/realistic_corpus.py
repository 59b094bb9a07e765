"""Bench corpora with real vocabulary diversity, and the figures that say how diverse a corpus is.

Copies of data_samples/ with a new opening word each (what the benches used before issue 20) hold about 3.3k
distinct words at any size and a third of their text windows repeated, so spaCy answers from its cache and the
embedding coder skips duplicates: both looked faster than on real transcripts. Here each sample document is a
template (its speakers, turn lengths and language) whose words are drawn afresh:

* from the real unigram frequencies of Spanish or English (spaCy's ``lexeme_prob`` tables in
  spacy-lookups-data, 1M word forms each, Zipf-shaped as real text is), and
* for ``DOMAIN_SHARE`` of the words, from the sample transcripts' own words in their own proportions, so the
  codebook's keywords and topics occur as often as in the interviews.

``stats`` reports the distinct words and the share of repeated 8-word windows and of duplicate turns: printed
with every bench figure.

    python bench/realistic_corpus.py --words 1000000   # prints the figures of a generated corpus and of copies
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DOMAIN_SHARE = 0.3  # a third of an interview's words are its topic's (principals, network, children, ...)
VOCABULARY = 200_000  # most frequent word forms kept per language: beyond it, words too rare to matter
WINDOW = 8  # words per window for the repeated-window figure (a phrase, shorter than any coder's window)
OPENERS = ["Bueno", "Mire", "Igual", "Oiga", "Fíjese", "Claro", "Pucha", "Ya", "Entonces", "Sabe", "Y", "Pero"]
_WORD = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)?$")
_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)?")


def _lexicon(lang: str) -> tuple[np.ndarray, np.ndarray]:
    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / f"{lang}_lexeme_prob.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        probs = json.load(handle)
    words = sorted(((w, p) for w, p in probs.items() if _WORD.match(w)), key=lambda wp: -wp[1])[:VOCABULARY]
    weights = np.exp(np.array([p for _, p in words]))
    return np.array([w for w, _ in words], dtype=object), weights / weights.sum()


def _templates() -> pd.DataFrame:
    import qualcode as qc

    corpus, _ = qc.load_corpus(ROOT / "data_samples" / "transcripts")
    return corpus.segments


@dataclass
class Stats:
    words: int
    distinct: int
    repeated_windows: float
    duplicate_turns: float

    def line(self) -> str:
        return (f"{self.words:,} words, {self.distinct:,} distinct, {self.repeated_windows:.1%} of {WINDOW}-word "
                f"windows repeated, {self.duplicate_turns:.1%} duplicate turns")


def stats(texts: list[str]) -> Stats:
    """Distinct words (case-folded), the share of ``WINDOW``-word windows seen more than once, duplicate turns."""
    ids: dict[str, int] = {}
    hashes = []
    total = 0
    mult = np.uint64(1_000_003)
    for text in texts:
        tokens = np.fromiter((ids.setdefault(t, len(ids)) for t in _TOKEN.findall(text.casefold())), dtype=np.uint64)
        total += len(tokens)
        if len(tokens) >= WINDOW:
            h = np.zeros(len(tokens) - WINDOW + 1, dtype=np.uint64)
            for k in range(WINDOW):  # a polynomial hash of each window, wrapping at 2**64
                h = h * mult + tokens[k:len(tokens) - WINDOW + 1 + k]
            hashes.append(h)
    every = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
    _, counts = np.unique(every, return_counts=True)
    repeated = float(counts[counts > 1].sum() / len(every)) if len(every) else 0.0
    turns = pd.Series(texts)
    return Stats(total, len(ids), repeated, float(turns.duplicated().mean()) if len(turns) else 0.0)


def generate(folder: Path, target_words: int, seed: int = 20) -> Stats:
    """Write transcripts of about ``target_words`` words into ``folder``; return their :class:`Stats`."""
    rng = np.random.default_rng(seed)
    base = _templates()
    lexicons = {lang: _lexicon(lang) for lang in ("es", "en")}
    domain = {}
    for lang, group in base.groupby("language"):
        counts = Counter(t for text in group["text"] for t in _TOKEN.findall(text))
        words = np.array(list(counts), dtype=object)
        weights = np.array(list(counts.values()), dtype=float)
        domain[lang] = (words, weights / weights.sum())
    docs = [(doc_id, turns) for doc_id, turns in base.groupby("doc_id", sort=True)]
    written: list[str] = []
    words = 0
    copy = 0
    while words < target_words:
        for doc_id, turns in docs:
            lang = turns["language"].iloc[0] if turns["language"].iloc[0] in lexicons else "es"
            lines = []
            for speaker, text in zip(turns["speaker"], turns["text"], strict=True):
                n = max(1, len(text.split()))
                own = rng.random(n) < DOMAIN_SHARE
                vocab, p = lexicons[lang]
                chosen = vocab[rng.choice(len(vocab), size=n, p=p)]
                dwords, dp = domain.get(lang, domain["es"])
                chosen[own] = dwords[rng.choice(len(dwords), size=int(own.sum()), p=dp)]
                sentence = []
                for i, word in enumerate(chosen):
                    sentence.append(word.capitalize() if i == 0 or sentence[-1].endswith(".") else word)
                    if i < n - 1 and rng.random() < 1 / 12:
                        sentence[-1] += "." if rng.random() < 0.6 else ","
                body = " ".join(sentence) + ("?" if text.rstrip().endswith("?") else ".")
                lines.append(f"{speaker}: {body}")
                written.append(body)
            (folder / f"{doc_id}_{copy:05d}.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
            words += sum(len(line.split()) - 1 for line in lines)
            if words >= target_words:
                break
        copy += 1
    return stats(written)


def copies(target_words: int) -> list[str]:
    """The texts the benches used before: sample turns with a distinct opening word per copy (for comparison)."""
    base = list(_templates()["text"])
    per_copy = sum(len(t.split()) for t in base)
    out = []
    for k in range(max(1, target_words // per_copy + 1)):
        opener = f"{OPENERS[k % len(OPENERS)]} {k // len(OPENERS)},"
        out.extend(f"{opener} {t}" for t in base)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=1_000_000)
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(f"generated: {generate(Path(tmp), args.words).line()}")
    print(f"copies of the sample (before issue 20): {stats(copies(args.words)).line()}")


if __name__ == "__main__":
    main()
