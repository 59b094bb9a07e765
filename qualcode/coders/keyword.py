"""KeywordCoder: the codebook's keywords and phrases, matched on lemmas, roots and folded forms.

How a keyword matches a word of a segment (both lower-cased and stripped of
accents first, so ``COLABORAMOS`` and ``colaboramos`` are the same word):

* **form**: the word is the keyword (``whatsapp``);
* **lemma**: the word's spaCy lookup lemma is the keyword's lemma
  (``colaboramos`` → ``colaborar``);
* **root**: their Snowball stems agree, for stems of five letters or more
  (``colaboración``, ``colaborativo`` ↔ ``colaborar``: ``colabor``);
* **prefix**: a keyword ending in ``*`` matches every word starting with it;
* a keyword written ``/…/`` is a regular expression on the segment's text, run by RE2 in time
  linear in the text (see :mod:`qualcode.codebook.regex`).

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

Speed: the words of all segments are read into arrays in one pass (see
``_keyword_index``); each distinct word is lemmatised once per call (and
stemmed only if it could share a keyword's root), its keywords are looked up
once, and every occurrence is then found at once with numpy. A phrase is
checked in full only where its other words stand around its first content
word, so the Python work grows with the matches, not the tokens.
"""

from __future__ import annotations

import math
import re
import warnings
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from numbers import Integral, Real
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from ..codebook import Codebook
from ..codebook.regex import KeywordRegex, KeywordRegexError, compile_keyword_regex
from ..codebook.validate import warn_language_gaps
from ..errors import CodebookWarning
from ..nlp.normalize import fold_fast
from ..nlp.pipeline import get_nlp, lookup_table
from ..nlp.words import stemmer, stop_words
from ..schemas import check_lang, returns, takes
from ._keyword_index import WORD as _WORD
from ._keyword_index import WordIndex, expand, index_words
from .base import SEGMENTS_IN, BaseCoder, CoderTags, participant_units, register_coder, typed_suggestions

if TYPE_CHECKING:
    from spacy.lookups import Table

__all__ = ["WEIGHTS", "KeywordCoder"]

WEIGHTS = {"phrase": 1.0, "form": 0.7, "lemma": 0.7, "root": 0.5, "prefix": 0.5}
_SENTENCE_END = re.compile(r"[.!?…]+[\"'»”)\]]*(?=\s|$)")
_MIN_STEM = 5
_COLUMNS = ["segment_id", "doc_id", "text", "start", "speaker_role", "language"]


def _lower(text: str) -> str:
    """Lower case with offsets kept: str.lower() unless it changes the length (rare letters like İ)."""
    low = text.lower()
    return low if len(low) == len(text) else text.translate(_LOWER)


_PREVIOUS = re.compile(r"(\w+)[ \t-]*$")


def _phrase_span(low: str, pattern: _Pattern, start: int, end: int, lexicon: _Lexicon) -> tuple[int, int] | None:
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


_LOWER = {code: chr(code).lower() for code in range(0x41, 0x2FF)
          if len(chr(code).lower()) == 1 and chr(code).lower() != chr(code)}


@lru_cache(maxsize=2)
def _lemma_table(lang: str) -> Table:
    return lookup_table(get_nlp(lang), "lemma_lookup")


class _Lexicon:
    """Per language: every distinct lower-case word → (form, lemma, root), computed once (per call).

    Parameters
    ----------
    lang : {"es", "en"}
    roots : set of str, optional
        The only roots a word's root is compared with (the keywords'). A word
        that cannot stem to one of them gets root ``""`` without calling the
        stemmer, the slowest step. ``None`` stems every word.
    """

    def __init__(self, lang: str, roots: set[str] | None = None) -> None:
        self.lang = lang
        self.table = _lemma_table(lang)
        self.stem = stemmer(lang).stemWord
        self.cache: dict[str, tuple[str, str, str]] = {}
        self.roots: dict[str, str] = {}  # lemma → root: the inflected forms of a verb share one
        # Snowball only rewrites a word's ending: a stem is never longer than its word, and a stem of five
        # letters or more agrees with an alphabetic word in all but at most its last letter (checked on every
        # form in spaCy's es/en lookup tables and on two million generated words). Allowing two, only a word
        # starting with root[:-2] can have that root.
        self.root_starts: dict[str, set[str]] | None = None
        if roots is not None:
            self.root_starts = {}
            for root in roots:
                self.root_starts.setdefault(root[:3], set()).add(root[:-2])

    def keys(self, word: str) -> tuple[str, str, str]:
        found = self.cache.get(word)
        if found is None:
            form = fold_fast(word)
            lemma = fold_fast(self.table.get(word, word))
            found = self.cache[word] = (form, lemma, self._root(lemma))
        return found

    def _root(self, lemma: str) -> str:
        if len(lemma) < _MIN_STEM:
            return ""
        if self.root_starts is not None and lemma.isalpha() and not any(
                lemma.startswith(start) for start in self.root_starts.get(lemma[:3], ())):
            return ""
        root = self.roots.get(lemma)
        if root is None:
            root = self.stem(lemma)
            root = self.roots[lemma] = root if len(root) >= _MIN_STEM else ""
        return root


class _Vocabulary:
    """The distinct words of a corpus, indexed by their keys: which words does a keyword word match?"""

    def __init__(self, keys: list[tuple[str, str, str]]) -> None:
        self.keys = keys
        self.by_key: dict[str, list[int]] = {}
        for word, found in enumerate(keys):
            for key in found:
                if key:
                    self.by_key.setdefault(key, []).append(word)
        self.sorted: tuple[list[tuple[str, int]], ...] | None = None
        self.cache: dict[_Token, list[tuple[int, str]]] = {}

    def matching(self, token: _Token) -> list[tuple[int, str]]:
        """``(word, kind)`` for every word ``token`` matches, in word order."""
        found = self.cache.get(token)
        if found is None:
            if token.prefix:
                candidates = self._starting_with(token.prefix)
            else:
                # A word matches by form, lemma or root, so it is filed under one of the token's own keys.
                candidates = {w for key in (token.form, token.lemma, token.root) if key
                              for w in self.by_key.get(key, ())}
            found = []
            for word in sorted(candidates):
                kind = token.match(self.keys[word])
                if kind is not None:
                    found.append((word, kind))
            self.cache[token] = found
        return found

    def _starting_with(self, prefix: str) -> set[int]:
        if self.sorted is None:
            self.sorted = tuple(sorted((found[i], word) for word, found in enumerate(self.keys)) for i in (0, 1))
        words = set()
        for table in self.sorted:  # forms, then lemmas
            at = bisect_left(table, (prefix, -1))
            while at < len(table) and table[at][0].startswith(prefix):
                words.add(table[at][1])
                at += 1
        return words


@dataclass(frozen=True)
class _Hits:
    """Keyword matches as arrays, one row per match: which segment, pattern, weight, and where."""

    unit: np.ndarray  # row of the participant units
    pattern: np.ndarray  # index into the coder's patterns, Spanish then English
    weight: np.ndarray
    start: np.ndarray  # offsets in the segment's text
    end: np.ndarray
    rank: np.ndarray  # among matches starting at the same place: single words, then phrases, then expressions
    sentence: np.ndarray  # of the match's start, counted from 0 in its segment

    @classmethod
    def concat(cls, parts: list[_Hits]) -> _Hits:
        fields = cls.__dataclass_fields__
        if not parts:
            return cls(**{name: np.zeros(0, dtype=np.float64 if name == "weight" else np.intp) for name in fields})
        return cls(**{name: np.concatenate([getattr(part, name) for part in parts]) for name in fields})


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
    regex: KeywordRegex | None = None
    anchor: int = 0  # the phrase word looked up first: its first word that is not a stop word


def _compile(keyword: str, code_id: str, negative: bool, lexicon: _Lexicon) -> _Pattern:
    text = keyword.strip()
    if len(text) > 2 and text.startswith("/") and text.endswith("/"):
        # RE2, linear in the text whatever the pattern (validation refused what it cannot run).
        return _Pattern(code_id, text, (), negative, compile_keyword_regex(text))

    tokens = []
    words = re.findall(r"\w+\*?", text.translate(_LOWER))
    for word in words:
        if word.endswith("*"):
            tokens.append(_Token("", "", "", fold_fast(word[:-1])))
        else:
            form, lemma, root = lexicon.keys(word)
            tokens.append(_Token(form, lemma, root, ""))
    stop = stop_words(lexicon.lang)
    # Looking phrases up by their first content word ("whatsapp" in "el grupo de whatsapp" would be
    # better still, but the first is enough to skip the articles every sentence has).
    anchor = next((i for i, t in enumerate(tokens) if t.prefix or (t.form not in stop and t.lemma not in stop)), 0)
    return _Pattern(code_id, text, tuple(tokens), negative, anchor=anchor)


@register_coder
class KeywordCoder(BaseCoder):
    """Suggest codes whose keywords occur in a segment, with the words as evidence.

    Parameters
    ----------
    lang : {"es", "en"}, optional
        Match every segment as this language; by default each segment's ``language``.
    skip_roles : str or tuple of str
        Speaker roles never suggested for (interviewers; text before the first label); one string is one role.
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
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "lang": [None, StrOptions({"es", "en"})],
        "skip_roles": [str, tuple, list],
        "window": [Interval(Integral, 1, None, closed="left")],
        "min_score": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, *, lang: str | None = None, skip_roles: str | tuple[str, ...] = ("interviewer", "unknown"),
                 window: int = 3, min_score: float = 0.0) -> None:
        self.lang = lang
        self.skip_roles = skip_roles
        self.window = window
        self.min_score = min_score

    def fit(self, codebook: Codebook, decisions: pd.DataFrame | None = None) -> KeywordCoder:
        """Compile the codebook's keywords (decisions are not used by this coder)."""
        # The language first, in the words every qualcode function uses for it; then the declared constraints.
        check_lang(self.lang, none="each segment's language")
        self._validate_params()
        self.codebook_ = codebook
        self.codebook_version_ = codebook.version
        # Only the compiled patterns are kept: the lemma tables and stemmers load again on first use, so a
        # fitted coder pickles small for worker processes.
        self.patterns_: dict[str, list[_Pattern]] = {}
        for lang in ("es", "en"):
            lexicon = _Lexicon(lang)
            patterns = []
            for code in codebook:
                for negative, field in ((False, "keywords"), (True, "negative_keywords")):
                    for keyword in getattr(code, field).get(lang, []):
                        try:
                            patterns.append(_compile(keyword, code.id, negative, lexicon))
                        except KeywordRegexError as exc:
                            # A codebook built in Python (never validated) or a version a project stored
                            # before keywords ran on RE2: the keyword is skipped and said, never run on a
                            # backtracking engine, and never a reason a project's codebook cannot be used.
                            source = codebook.source or f"codebook {codebook.id!r}"
                            warnings.warn(CodebookWarning(
                                f"{source}: code {code.id!r}, {field}.{lang}: {exc}. This keyword is skipped."),
                                stacklevel=2)
            self.patterns_[lang] = patterns
        return self

    def coder_tags(self) -> CoderTags:
        """Keywords only, matched in each segment's language, one segment at a time."""
        return CoderTags(needs_keywords=True, language_aware=True)

    @returns("suggestions")
    @takes(segments=SEGMENTS_IN)
    def suggest(self, segments: pd.DataFrame) -> pd.DataFrame:
        """Suggestions for every participant segment whose text holds a keyword.

        Each segment is coded on its own: the result does not depend on which
        other segments are passed along, and rows come in the segments' order
        (codes in codebook order within a segment).

        Returns
        -------
        DataFrame
            The suggestions table; ``method`` is ``keyword``, ``evidence`` the
            ``«word» (keyword)`` list and ``spans`` the matched words:

            {columns}
        """
        self._check_fitted()
        # Only the columns used here are filtered (a corpus may carry many attribute columns).
        units = participant_units(segments[[c for c in _COLUMNS if c in segments.columns]], self.skip_roles)
        if units.empty:
            return typed_suggestions([])
        langs = units["language"].fillna("es") if self.lang is None else pd.Series(self.lang, index=units.index)
        warn_language_gaps(self.codebook_, set(langs.unique().tolist()))
        texts = [str(t) for t in units["text"].tolist()]
        # Segments in a language without patterns of its own are matched as Spanish.
        english = langs.to_numpy(dtype=object) == "en"
        found = []
        for lang, rows, first_pattern in (("es", np.flatnonzero(~english), 0),
                                          ("en", np.flatnonzero(english), len(self.patterns_["es"]))):
            if len(rows):
                hits = self._find(lang, [texts[i] for i in rows])
                found.append(_Hits(unit=rows[hits.unit], pattern=hits.pattern + first_pattern, weight=hits.weight,
                                   start=hits.start, end=hits.end, rank=hits.rank, sentence=hits.sentence))
        frame = self._suggestions(units, texts, _Hits.concat(found))
        if self.min_score > 0 and not frame.empty:
            frame = frame[frame["score"] >= self.min_score].reset_index(drop=True)
        return frame

    def _find(self, lang: str, texts: list[str]) -> _Hits:
        """Every match of the language's patterns in ``texts`` (``unit`` and ``pattern`` count from 0 here)."""
        patterns = self.patterns_[lang]
        low = [_lower(text) for text in texts]
        index = index_words(low, _SENTENCE_END)
        lexicon = _Lexicon(lang, roots={t.root for p in patterns for t in p.tokens if t.root})
        vocabulary = _Vocabulary([lexicon.keys(word) for word in index.words])
        n_words = len(index.words)

        # Per distinct word: the patterns whose anchor it matches. Single-word patterns are then found
        # wherever such a word occurs; phrases are a candidate there, checked against their other words.
        pairs: list[tuple[int, int, int, float]] = []  # (word, rank, pattern, weight)
        slots: dict[tuple[int, int], list[int]] = {}  # (pattern, position from the anchor) → words that fit
        for i, pattern in enumerate(patterns):
            if not pattern.tokens:
                continue
            phrase = len(pattern.tokens) > 1
            for word, kind in vocabulary.matching(pattern.tokens[pattern.anchor]):
                pairs.append((word, int(phrase), i, WEIGHTS["phrase" if phrase else kind]))
            if phrase:
                for j, other in enumerate(pattern.tokens):
                    if j != pattern.anchor:
                        slots[(i, j - pattern.anchor)] = [word for word, _ in vocabulary.matching(other)]
        pairs.sort()
        pair_word = np.array([p[0] for p in pairs], dtype=np.intp)
        per_word = np.bincount(pair_word, minlength=n_words)
        first_pair = np.cumsum(per_word) - per_word

        # Every (occurrence, pattern) whose anchor the occurrence's word matches, in text order.
        tokens = np.flatnonzero(per_word[index.word])
        count = per_word[index.word[tokens]]
        token = np.repeat(tokens, count)
        pair = expand(first_pair[index.word[tokens]], count)
        rank = np.array([p[1] for p in pairs], dtype=np.intp)[pair]
        pattern_of = np.array([p[2] for p in pairs], dtype=np.intp)[pair]
        weight = np.array([p[3] for p in pairs], dtype=np.float64)[pair]
        unit = index.text_of(token)

        single = rank == 0
        start, end, sentence = index.locate(token[single])
        parts = [_Hits(unit=unit[single], pattern=pattern_of[single], weight=weight[single], start=start, end=end,
                       rank=rank[single], sentence=sentence)]
        parts.append(self._phrases(low, index, lexicon, slots, n_words, token[~single], pattern_of[~single]))
        parts.append(self._expressions(texts, patterns))
        return _Hits.concat(parts)

    def _phrases(self, low: list[str], index: WordIndex, lexicon: _Lexicon, slots: dict[tuple[int, int], list[int]],
                 n_words: int, token: np.ndarray, pattern_of: np.ndarray) -> _Hits:
        """The phrases found at their anchor occurrences ``token``."""
        patterns = self.patterns_[lexicon.lang]
        unit = index.text_of(token)
        first, stop = index.first[unit], index.first[unit + 1]
        head = np.maximum(token - np.array([p.anchor for p in patterns], dtype=np.intp)[pattern_of], first)
        (start, end, _), (head_start, _, head_sentence) = index.locate(token), index.locate(head)
        # Cheap first: each other word of the phrase must be the word that far from the anchor in the same
        # segment; _phrase_span then checks what separates them. It reads a word more than 60 characters
        # before the anchor only in part, so for those rare candidates the words before the anchor only
        # need to occur somewhere in the segment (as every word of a phrase must).
        far = start - head_start > 60
        alive = np.ones(len(token), dtype=bool)
        allowed = np.sort(np.concatenate([np.zeros(0, dtype=np.intp)] + [
            slot * n_words + np.array(words, dtype=np.intp) for slot, words in enumerate(slots.values())]))
        slot_ids = {key: slot for slot, key in enumerate(slots)}
        for offset in sorted({offset for _, offset in slots}):
            slot_at = np.full(len(patterns), -1, dtype=np.intp)
            for (i, o), slot in slot_ids.items():
                if o == offset:
                    slot_at[i] = slot
            slot = slot_at[pattern_of]
            there = np.clip(token + offset, 0, max(len(index.word) - 1, 0))
            fits = ((token + offset >= first) & (token + offset < stop)
                    & _isin_sorted(slot * n_words + index.word[there], allowed))
            alive &= (slot < 0) | fits | (far if offset < 0 else False)
        for k in np.flatnonzero(alive & far).tolist():
            here = set(index.word[first[k]:stop[k]].tolist())
            i = int(pattern_of[k])
            if any(here.isdisjoint(words) for (j, offset), words in slots.items() if j == i and offset < 0):
                alive[k] = False
        rows: list[tuple[int, int, int, int, int]] = []
        for k in np.flatnonzero(alive).tolist():
            u, i = int(unit[k]), int(pattern_of[k])
            span = _phrase_span(low[u], patterns[i], int(start[k]), int(end[k]), lexicon)
            if span is None:
                continue
            # The phrase's sentence is that of its first word, which is the head unless it was read in part.
            if span[0] == head_start[k]:
                sentence = int(head_sentence[k])
            else:
                starts, _, sentences = index.locate(np.arange(index.first[u], index.first[u + 1]))
                sentence = int(sentences[np.searchsorted(starts, span[0], side="right") - 1])
            rows.append((u, i, span[0], span[1], sentence))
        return _hits_from_rows(rows, rank=1)

    def _expressions(self, texts: list[str], patterns: list[_Pattern]) -> _Hits:
        """Matches of the ``/…/`` keywords (on the text as written)."""
        rows: list[tuple[int, int, int, int, int]] = []
        regexes = [(i, p.regex) for i, p in enumerate(patterns) if p.regex is not None]
        if regexes:
            for u, text in enumerate(texts):
                found = [(i, a, b) for i, regex in regexes for a, b in regex.spans(text) if b > a]
                if found:
                    # An expression may start anywhere, even among the punctuation that ends a sentence.
                    stops = [m.end() for m in _SENTENCE_END.finditer(text)]
                    rows.extend((u, i, a, b, bisect_right(stops, a)) for i, a, b in found)
        return _hits_from_rows(rows, rank=2)

    def _suggestions(self, units: pd.DataFrame, texts: list[str], hits: _Hits) -> pd.DataFrame:
        """One row per (segment, code): the score of its best window of sentences, and that window's matches."""
        patterns = self.patterns_["es"] + self.patterns_["en"]
        code_ids = [code.id for code in self.codebook_]
        code_order = {code_id: i for i, code_id in enumerate(code_ids)}
        # One number per (segment, code), in the order rows are returned.
        group = hits.unit.astype(np.int64) * len(code_ids) + np.array(
            [code_order[p.code_id] for p in patterns], dtype=np.int64)[hits.pattern]
        negative = np.array([p.negative for p in patterns], dtype=bool)[hits.pattern]

        keep = ~negative
        if negative.any():
            # A negative keyword cancels its code's matches in its own sentence.
            where = group * (int(hits.sentence.max()) + 1) + hits.sentence
            keep &= ~np.isin(where, where[negative])
        order = np.flatnonzero(keep)
        order = order[np.lexsort((hits.pattern[order], hits.rank[order], hits.start[order], group[order]))]
        # A word inside a longer match of the same code ("ciclo" in "segundo ciclo") is not new evidence.
        order = order[~_contained(group[order], hits.start[order], hits.end[order])]
        if not len(order):
            return typed_suggestions([])

        group = group[order]
        row = np.cumsum(np.r_[True, group[1:] != group[:-1]]) - 1  # per match: its row
        firsts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])  # per row: its first match
        keyword = [p.keyword for p in patterns]
        ids: dict[str, int] = {}
        keyword_id = np.array([ids.setdefault(k, len(ids)) for k in keyword], dtype=np.intp)
        score, shown = _score_rows(row, firsts, hits.sentence[order], hits.weight[order],
                                   keyword_id[hits.pattern[order]], self.window)

        # The evidence: each shown match as «words» (keyword), and its document offsets, joined per row.
        at = order[shown]
        unit = hits.unit[at]
        pieces = [f"«{texts[u][a:b]}» ({keyword[k]})" for u, a, b, k in
                  zip(unit.tolist(), hits.start[at].tolist(), hits.end[at].tolist(), hits.pattern[at].tolist(),
                      strict=True)]
        base = units["start"].to_numpy(dtype=object)[unit].astype(np.int64)
        offsets = [[a, b] for a, b in zip((base + hits.start[at]).tolist(), (base + hits.end[at]).tolist(),
                                          strict=True)]
        bounds = np.cumsum(np.add.reduceat(shown, firsts)).tolist()
        ranges = list(zip([0, *bounds[:-1]], bounds, strict=True))  # per row: its shown matches
        evidence = [pieces[a] if b - a == 1 else ", ".join(pieces[a:b]) for a, b in ranges]
        spans = [offsets[a:b] for a, b in ranges]

        row_unit = hits.unit[order][firsts]
        frame = pd.DataFrame({
            "segment_id": units["segment_id"].to_numpy(dtype=object)[row_unit],
            "doc_id": units["doc_id"].to_numpy(dtype=object)[row_unit],
            "code_id": np.array(code_ids, dtype=object)[group[firsts] % len(code_ids)],
            "method": self.method, "score": score, "evidence": evidence, "spans": spans,
            "codebook_version": self.codebook_version_})
        return typed_suggestions(frame)


def _score_rows(row: np.ndarray, firsts: np.ndarray, sentence: np.ndarray, weight: np.ndarray,
                keyword_id: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Score every row by its best window of sentences: (score per row, whether each match is shown).

    The matches come grouped by row (``firsts`` starts each) and in text order within a row;
    ``keyword_id`` numbers their keywords (one number per distinct keyword text).
    """
    # Most rows have all their matches within one window (most have a single match): all of them are
    # the evidence, and the score is that of their distinct keywords, each at its best weight.
    one = (np.maximum.reduceat(sentence, firsts) - np.minimum.reduceat(sentence, firsts)) < window
    shown = one[row]
    inside = np.flatnonzero(shown)
    inside = inside[np.lexsort((weight[inside], keyword_id[inside], row[inside]))]
    best = np.ones(len(inside), dtype=bool)  # the best weight of each keyword of each row
    best[:-1] = (row[inside][1:] != row[inside][:-1]) | (keyword_id[inside][1:] != keyword_id[inside][:-1])
    classes = sorted(set(WEIGHTS.values()))
    counts = np.zeros((len(firsts), len(classes)), dtype=np.int64)
    np.add.at(counts, (row[inside[best]], np.searchsorted(classes, weight[inside[best]])), 1)
    # Rows with as many keywords of each weight score the same: score each combination once.
    radix = int(counts.max()) + 1
    combinations, which = np.unique(counts[one] @ radix ** np.arange(len(classes)), return_inverse=True)
    score = np.empty(len(firsts), dtype=np.float64)
    score[one] = np.array([_score([w for c, w in enumerate(classes) for _ in range(combination // radix ** c % radix)])
                           for combination in combinations.tolist()], dtype=np.float64)[which]

    # The others (matches further apart than a window) try each window.
    ends = np.r_[firsts[1:], len(row)]
    sentence_l, keyword_l, weight_l = sentence.tolist(), keyword_id.tolist(), weight.tolist()
    for g in np.flatnonzero(~one).tolist():
        score[g], chosen = _best_window([(sentence_l[h], keyword_l[h], weight_l[h], h)
                                         for h in range(int(firsts[g]), int(ends[g]))], window)
        shown[chosen] = True
    return score, shown


def _best_window(found: list[tuple[int, int, float, int]], window: int) -> tuple[float, list[int]]:
    """Score one code's matches in one segment: (score, the matches shown as evidence).

    ``found`` holds ``(sentence, keyword id, weight, match id)`` per match, in text order.
    """
    best_score, best_hits = 0.0, found
    sentences = sorted({h[0] for h in found})
    firsts = sentences if sentences[-1] - sentences[0] >= window else sentences[:1]
    for first in firsts:
        inside = found if len(firsts) == 1 else [h for h in found if first <= h[0] < first + window]
        weights: dict[int, float] = {}
        for _, keyword, weight, _ in inside:
            weights[keyword] = max(weights.get(keyword, 0.0), weight)
        score = _score(list(weights.values()))
        if score > best_score:
            best_score, best_hits = score, inside
    return best_score, [h[3] for h in best_hits]


def _score(weights: list[float]) -> float:
    """``1 − exp(−Σ w)``, rounded to 4 places.

    ``math.fsum`` is exact, so the same weights give the same score in any order (and a later window
    never beats an earlier one with the same keywords by a rounding error).
    """
    return round(1.0 - math.exp(-math.fsum(weights)), 4)


def _contained(group: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Whether each match lies inside a longer match of its group; matches sorted by group, then start.

    A longer match around ``h`` starts before it and ends no earlier, or starts with it and ends later.

    Examples
    --------
    >>> _contained(np.array([0, 0, 0, 1]), np.array([0, 4, 9, 4]), np.array([12, 8, 11, 8])).tolist()
    [False, True, True, False]
    """
    if not len(group):
        return np.zeros(0, dtype=bool)
    run_starts = np.r_[True, (group[1:] != group[:-1]) | (start[1:] != start[:-1])]
    run = np.cumsum(run_starts) - 1
    firsts = np.flatnonzero(run_starts)
    run_end = np.maximum.reduceat(end, firsts)
    # The furthest end among the earlier runs of the same group: a running maximum, lifted per group so
    # that no earlier group's end carries over (what comes out below zero had no earlier run).
    lift = group[firsts].astype(np.int64) * (int(end.max()) + 1)
    earlier = np.r_[-1, np.maximum.accumulate(lift + run_end)[:-1]] - lift
    return (run_end[run] > end) | (earlier[run] >= end)


def _isin_sorted(values: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``np.isin(values, table)`` for a sorted ``table`` (without sorting ``values``)."""
    if not len(table):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(table, values), len(table) - 1)
    return table[at] == values


def _hits_from_rows(rows: list[tuple[int, int, int, int, int]], *, rank: int) -> _Hits:
    """``(unit, pattern, start, end, sentence)`` rows of phrase or expression matches (weight 1) as arrays."""
    if rows:
        unit, pattern, start, end, sentence = (np.array(column, dtype=np.intp) for column in zip(*rows, strict=True))
    else:
        unit = pattern = start = end = sentence = np.zeros(0, dtype=np.intp)
    return _Hits(unit=unit, pattern=pattern, weight=np.full(len(unit), WEIGHTS["phrase"]), start=start, end=end,
                 rank=np.full(len(unit), rank, dtype=np.intp), sentence=sentence)

