"""KeywordCoder: the codebook's keywords and phrases, matched on lemmas, roots and folded forms.

How a keyword matches a word of a segment (both lower-cased and stripped of
accents first, so ``COLABORAMOS`` and ``colaboramos`` are the same word):

* **form**: the word is the keyword (``whatsapp``);
* **lemma**: the word's spaCy lookup lemma is the keyword's lemma
  (``colaboramos`` → ``colaborar``);
* **root**: their Snowball stems agree, for stems of five letters or more
  (``colaboración``, ``colaborativo`` ↔ ``colaborar``: ``colabor``);
* **prefix**: a keyword ending in ``*`` matches every word starting with it;
* a keyword written ``/…/`` is a regular expression on the segment's text.

Phrases match word by word in order. A negative keyword in the same sentence
cancels the code's matches in that sentence.

Score
-----
Each distinct keyword found weighs ``w`` = 1.0 for a phrase or regular
expression, 0.7 for a single word matched by form or lemma, 0.5 by root or
prefix. Over every window of ``window`` consecutive sentences,
``score = 1 − exp(−Σ w)``; a segment's score is its best window's, and the
evidence lists the matches in that window. One word gives 0.50, two words
0.75, a phrase 0.63, a phrase and a word 0.82.

Speed: each distinct word of the corpus is lemmatised and stemmed once;
the text itself is scanned by one compiled regular expression of the words
that can start a keyword, so the work grows with the matches, not the tokens.
"""

from __future__ import annotations

import math
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from ..codebook import Codebook
from ..codebook.validate import warn_language_gaps
from ..errors import ParameterError
from .base import BaseCoder, participant_units, typed_suggestions

__all__ = ["KeywordCoder", "fold_fast", "WEIGHTS"]

WEIGHTS = {"phrase": 1.0, "form": 0.7, "lemma": 0.7, "root": 0.5, "prefix": 0.5}
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”)\]]*(?=\s|$)")
_MIN_STEM = 5


def _lower(text: str) -> str:
    """Lower case with offsets kept: str.lower() unless it changes the length (rare letters like İ)."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_LOWER)


_PREVIOUS = re.compile(r"(\w+)[ \t-]*$")


def _phrase_span(low: str, pattern: "_Pattern", start: int, end: int, lexicon: "_Lexicon") -> tuple[int, int] | None:
    """Extend a match of a phrase's anchor word to the whole phrase, or None if the neighbours differ.

    Words of a phrase may be separated by spaces or a hyphen, not by punctuation.
    """
    stop = end
    for token in pattern.tokens[pattern.anchor + 1:]:
        following = _WORD.search(low, stop)
        if following is None or low[stop:following.start()].strip(" -\t") != "":
            return None
        if token.match(lexicon.keys(following.group(0))) is None:
            return None
        stop = following.end()
    first = start
    for token in reversed(pattern.tokens[:pattern.anchor]):
        previous = _PREVIOUS.search(low, max(0, first - 60), first)
        if previous is None or token.match(lexicon.keys(previous.group(1))) is None:
            return None
        first = previous.start(1)
    return first, stop


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _fold_table() -> dict[int, str]:
    """One character → one character: lower case without accents, so offsets never move."""
    table: dict[int, str] = {}
    for code in range(0x41, 0x2FF):
        ch = chr(code)
        lower = ch.lower()
        base = "".join(c for c in unicodedata.normalize("NFD", lower) if not unicodedata.combining(c))
        if len(base) == 1 and base != ch:
            table[code] = base
    return table


_FOLD = _fold_table()
_LOWER = {code: chr(code).lower() for code in range(0x41, 0x2FF) if len(chr(code).lower()) == 1 and chr(code).lower() != chr(code)}


def fold_fast(text: str) -> str:
    """Lower-case and strip accents, one character for one (offsets are preserved).

    Examples
    --------
    >>> fold_fast("COLABORACIÓN y Ñandú")
    'colaboracion y nandu'
    """
    return text.translate(_FOLD)


@lru_cache(maxsize=2)
def _stemmer(lang: str):  # type: ignore[no-untyped-def]
    import snowballstemmer

    return snowballstemmer.stemmer("spanish" if lang == "es" else "english")


@lru_cache(maxsize=2)
def _lemma_table(lang: str):  # type: ignore[no-untyped-def]
    from ..nlp.pipeline import get_nlp

    return get_nlp(lang).get_pipe("lemmatizer").lookups.get_table("lemma_lookup")


class _Lexicon:
    """Per language: every distinct lower-case word → (form, lemma, root), computed once."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.table = _lemma_table(lang)
        self.stem = _stemmer(lang).stemWord
        self.cache: dict[str, tuple[str, str, str]] = {}

    def keys(self, word: str) -> tuple[str, str, str]:
        found = self.cache.get(word)
        if found is None:
            form = fold_fast(word)
            lemma = fold_fast(self.table.get(word, word))
            root = self.stem(lemma)
            found = self.cache[word] = (form, lemma, root if len(root) >= _MIN_STEM else "")
        return found


@dataclass(frozen=True)
class _Token:
    form: str
    lemma: str
    root: str
    prefix: str  # non-empty for a trailing-* keyword token

    def match(self, keys: tuple[str, str, str]) -> str | None:
        form, lemma, root = keys
        if self.prefix:
            return "prefix" if form.startswith(self.prefix) or lemma.startswith(self.prefix) else None
        if form == self.form:
            return "form"
        if lemma == self.lemma or form == self.lemma or lemma == self.form:
            return "lemma"
        if self.root and root == self.root:
            return "root"
        return None


@dataclass(frozen=True)
class _Pattern:
    code_id: str
    keyword: str
    tokens: tuple[_Token, ...]
    negative: bool
    regex: re.Pattern[str] | None = None
    anchor: int = 0  # the phrase word looked up first: its first word that is not a stop word


def _compile(keyword: str, code_id: str, negative: bool, lexicon: _Lexicon) -> _Pattern:
    text = keyword.strip()
    if len(text) > 2 and text.startswith("/") and text.endswith("/"):
        return _Pattern(code_id, text, (), negative, re.compile(text[1:-1], re.IGNORECASE))
    from ..codebook.validate import _stop_words

    tokens = []
    words = re.findall(r"\w+\*?", text.translate(_LOWER))
    for word in words:
        if word.endswith("*"):
            tokens.append(_Token("", "", "", fold_fast(word[:-1])))
        else:
            form, lemma, root = lexicon.keys(word)
            tokens.append(_Token(form, lemma, root, ""))
    stop = _stop_words(lexicon.lang)
    # Looking phrases up by their first content word ("whatsapp" in "el grupo de whatsapp" would be
    # better still, but the first is enough to skip the articles every sentence has).
    anchor = next((i for i, t in enumerate(tokens) if t.prefix or (t.form not in stop and t.lemma not in stop)), 0)
    return _Pattern(code_id, text, tuple(tokens), negative, anchor=anchor)


class KeywordCoder(BaseCoder):
    """Suggest codes whose keywords occur in a segment, with the words as evidence.

    Parameters
    ----------
    lang : {"es", "en"}, optional
        Match every segment as this language; by default each segment's ``language``.
    skip_roles : tuple of str
        Speaker roles never suggested for (interviewers; text before the first label).
    window : int
        Sentences per scoring window (long turns are scored by their best window).
    min_score : float
        Suggestions below this score are dropped.

    Attributes
    ----------
    patterns_ : dict
        Compiled keyword patterns per language.
    codebook_version_ : str

    Examples
    --------
    >>> coder = KeywordCoder().fit(qc.load_codebook("collaboration"))  # doctest: +SKIP
    >>> coder.suggest(corpus.segments)[["segment_id", "code_id", "score", "evidence"]]  # doctest: +SKIP
    """

    method = "keyword"

    def __init__(self, *, lang: str | None = None, skip_roles: tuple[str, ...] = ("interviewer", "unknown"),
                 window: int = 3, min_score: float = 0.0) -> None:
        self.lang = lang
        self.skip_roles = skip_roles
        self.window = window
        self.min_score = min_score

    def fit(self, codebook: Codebook, decisions: pd.DataFrame | None = None) -> "KeywordCoder":
        """Compile the codebook's keywords (decisions are not used by this coder)."""
        if self.lang not in (None, "es", "en"):
            raise ParameterError(f"lang must be 'es', 'en' or None, got {self.lang!r}.")
        if self.window < 1:
            raise ParameterError(f"window must be at least 1 sentence, got {self.window}.")
        self.codebook_ = codebook
        self.codebook_version_ = codebook.version
        self.lexicons_ = {lang: _Lexicon(lang) for lang in ("es", "en")}
        self.patterns_: dict[str, list[_Pattern]] = {}
        for lang, lexicon in self.lexicons_.items():
            patterns = []
            for code in codebook:
                for keyword in code.keywords.get(lang, []):
                    patterns.append(_compile(keyword, code.id, False, lexicon))
                for keyword in code.negative_keywords.get(lang, []):
                    patterns.append(_compile(keyword, code.id, True, lexicon))
            self.patterns_[lang] = patterns
        return self

    def _index(self, lang: str, words: set[str]) -> tuple[dict[str, tuple[list, list]],
                                                           dict[tuple[int, int], frozenset[str]]]:
        """For the corpus's distinct words: which start a pattern, and which can fill each later phrase slot."""
        lexicon = self.lexicons_[lang]
        by_key: dict[str, set[str]] = {}
        for word in words:
            for key in lexicon.keys(word):
                if key:
                    by_key.setdefault(key, set()).add(word)

        def words_for(token: _Token) -> frozenset[str]:
            if token.prefix:
                return frozenset(w for w in words if token.match(lexicon.keys(w)))
            found: set[str] = set()
            for key in {token.form, token.lemma, token.root} - {""}:
                found |= {w for w in by_key.get(key, ()) if token.match(lexicon.keys(w))}
            return frozenset(found)

        starts: dict[str, tuple[list, list]] = {}
        slots: dict[tuple[int, int], frozenset[str]] = {}
        for pattern in self.patterns_[lang]:
            if not pattern.tokens:
                continue
            anchor = pattern.tokens[pattern.anchor]
            for word in words_for(anchor):
                kind = anchor.match(lexicon.keys(word))
                singles, phrases = starts.setdefault(word, ([], []))
                (singles if len(pattern.tokens) == 1 else phrases).append((pattern, kind))
            for j, token in enumerate(pattern.tokens):
                if j != pattern.anchor:
                    slots[(id(pattern), j)] = words_for(token)
        return starts, slots

    def suggest(self, segments: pd.DataFrame) -> pd.DataFrame:
        """Suggestions for every participant segment whose text holds a keyword.

        Returns
        -------
        DataFrame
            The suggestions table (:data:`qualcode.schemas.SUGGESTIONS`):
            ``segment_id``, ``doc_id``, ``code_id``, ``method`` (keyword),
            ``score``, ``evidence`` (``«word» (keyword)`` list), ``spans``
            (document offsets of the matched words), ``codebook_version``.
        """
        self._check_fitted()
        units = participant_units(segments, self.skip_roles)
        if units.empty:
            return typed_suggestions([])
        langs = units["language"].fillna("es") if self.lang is None else pd.Series(self.lang, index=units.index)
        warn_language_gaps(self.codebook_, set(langs))
        rows: list[dict] = []
        for lang, group in units.groupby(langs):
            lang = lang if lang in self.lexicons_ else "es"
            lowered = [_lower(str(t)) for t in group["text"]]
            vocab = [set(_WORD.findall(low)) for low in lowered]
            starts, slots = self._index(lang, set().union(*vocab))
            regexes = [p for p in self.patterns_[lang] if p.regex is not None]
            for (seg_id, doc_id, base, text), low, here in zip(
                    group[["segment_id", "doc_id", "start", "text"]].itertuples(index=False, name=None), lowered,
                    vocab):
                hits = self._hits(text, low, here, starts, slots, regexes, lang)
                if hits:
                    rows.extend(self._score(seg_id, doc_id, int(base), text, hits))
        frame = typed_suggestions(rows)
        if self.min_score > 0 and not frame.empty:
            frame = frame[frame["score"] >= self.min_score].reset_index(drop=True)
        return frame

    def _hits(self, text: str, low: str, here: set[str], starts: dict[str, tuple[list, list]],
              slots: dict[tuple[int, int], frozenset[str]], regexes: list[_Pattern],
              lang: str) -> list[tuple[_Pattern, str, int, int]]:
        hits: list[tuple[_Pattern, str, int, int]] = []
        lexicon = self.lexicons_[lang]
        for word in here & starts.keys():
            singles, phrases = starts[word]
            # Only phrases whose every other word also occurs in this segment can match.
            candidates = singles + [(p, k) for p, k in phrases
                                    if all(not here.isdisjoint(slots[(id(p), j)])
                                           for j in range(len(p.tokens)) if j != p.anchor)] \
                if phrases else singles
            if not candidates:
                continue
            position = low.find(word)
            while position != -1:
                end = position + len(word)
                if (position == 0 or not _is_word(low[position - 1])) and (end == len(low) or not _is_word(low[end])):
                    for pattern, kind in candidates:
                        if len(pattern.tokens) == 1:
                            hits.append((pattern, kind, position, end))
                        else:
                            span = _phrase_span(low, pattern, position, end, lexicon)
                            if span is not None:
                                hits.append((pattern, "phrase", *span))
                position = low.find(word, end)
        for pattern in regexes:
            for match in pattern.regex.finditer(text):  # type: ignore[union-attr]
                if match.end() > match.start():
                    hits.append((pattern, "phrase", match.start(), match.end()))
        return hits

    def _score(self, seg_id: str, doc_id: str, base: int, text: str,
               hits: list[tuple[_Pattern, str, int, int]]) -> list[dict]:
        ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        sentence = [bisect_right(ends, start) for _, _, start, _ in hits]
        blocked = {(p.code_id, s) for (p, _, _, _), s in zip(hits, sentence) if p.negative}
        by_code: dict[str, list[tuple[int, _Pattern, str, int, int]]] = {}
        for (pattern, kind, start, end), s in zip(hits, sentence):
            if pattern.negative or (pattern.code_id, s) in blocked:
                continue
            by_code.setdefault(pattern.code_id, []).append((s, pattern, kind, start, end))
        rows = []
        for code_id, found in by_code.items():
            # A word inside a longer match of the same code ("ciclo" in "segundo ciclo") is not new evidence.
            if len(found) > 1:
                found = [h for h in found if not any(o[3] <= h[3] and h[4] <= o[4] and (o[4] - o[3]) > (h[4] - h[3])
                                                     for o in found)]
            best_score, best_hits = 0.0, []
            sentences = sorted({h[0] for h in found})
            firsts = sentences if sentences[-1] - sentences[0] >= self.window else sentences[:1]
            for first in firsts:
                inside = found if len(firsts) == 1 else [h for h in found if first <= h[0] < first + self.window]
                weights: dict[str, float] = {}
                for _, pattern, kind, _, _ in inside:
                    weight = WEIGHTS["phrase"] if kind == "phrase" else WEIGHTS[kind]
                    weights[pattern.keyword] = max(weights.get(pattern.keyword, 0.0), weight)
                score = 1.0 - math.exp(-sum(weights.values()))
                if score > best_score:
                    best_score, best_hits = score, inside
            best_hits.sort(key=lambda h: h[3])
            evidence = ", ".join(f"«{text[start:end]}» ({pattern.keyword})" for _, pattern, _, start, end in best_hits)
            rows.append({"segment_id": seg_id, "doc_id": doc_id, "code_id": code_id, "method": self.method,
                         "score": round(best_score, 4), "evidence": evidence,
                         "spans": [[base + start, base + end] for _, _, _, start, end in best_hits],
                         "codebook_version": self.codebook_version_})
        return rows
